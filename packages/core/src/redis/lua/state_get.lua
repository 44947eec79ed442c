-- state_get: read one shared-state key.
-- KEYS: value
-- FLAGS: no-writes
-- ARGV[1] JSON {} (unused, kept for a uniform call shape).
-- Returns { found, json?, version, writer?, at?, machine?, state? }; `version` is the
-- tombstone's version when the key was deleted (found = false).
-- Invariant: a read never writes.
--@include state_entry
begin(K, ARGV)
local cur = state_read(K.value)
return reply({ found = cur.json ~= nil, json = cur.json, version = cur.ver, writer = cur.w,
  at = cur.at, machine = cur.m, state = cur.st })

-- state_get: read one shared-state key.
-- KEYS[1] value hash. ARGV[1] JSON {} (unused, kept for a uniform call shape).
-- Returns { found, json?, version, writer?, at?, machine?, state? }; `version` is the
-- tombstone's version when the key was deleted (found = false).
-- Invariant: a read never writes.
--@include state_entry
local cur = state_read(KEYS[1])
return cjson.encode({ found = cur.json ~= nil, json = cur.json, version = cur.ver, writer = cur.w,
  at = cur.at, machine = cur.m, state = cur.st })

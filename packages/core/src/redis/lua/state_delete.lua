-- state_delete: delete one shared-state key at a known version.
-- KEYS[1] value hash, KEYS[2] history list; run-scoped keys also KEYS[3] the run's meta hash
--   (must exist) and KEYS[4] the run's state-keys set.
-- ARGV[1] JSON { key: the key's name, expected: n, writer, historyMax, now? }.
-- Returns { ok = true, version (the tombstone's), at } or a failure like state_put.
-- Invariant: only the current version can be deleted; the tombstone keeps the version so a
-- re-created key continues the sequence (no stale version can match again); deleting
-- releases a machine binding.
--@include state_entry
local a = cjson.decode(ARGV[1])
local gone = state_run_check(KEYS[3])
if gone then return cjson.encode(gone) end
local c = state_check(KEYS[1], { mode = 'match', expected = a.expected })
if c then return cjson.encode(c) end
local at = state_now(a)
local ver = state_apply(KEYS[1], KEYS[2], { json = nil, op = 'delete', writer = a.writer, historyMax = a.historyMax, index = KEYS[4], key = a.key }, at)
return cjson.encode({ ok = true, version = ver, at = at })

-- state_delete: delete one shared-state key at a known version.
-- KEYS: value history state_keys meta?
-- value hash, history list, the scope's set of key names (a run's or a namespace's, for
-- listing); run-scoped keys also the run's meta hash (must exist).
-- ARGV[1] JSON { key: the key's name, dagId?, expected: n, writer, historyMax, now? }.
-- Returns { version (the tombstone's), at } or a conflict like state_put.
-- Invariant: only the current version can be deleted; the tombstone keeps the version so a
-- re-created key continues the sequence (no stale version can match again); deleting
-- releases a machine binding.
--@include state_entry
local a = begin(K, ARGV)
local gone = state_run_check(K.meta, a.dagId)
if gone then return reply(gone) end
local c = state_check(K.value, { mode = 'match', expected = a.expected })
if c then return reply(c) end
local at = tonumber(clock(a))
local ver = state_apply(K.value, K.history, { json = nil, op = 'delete', writer = a.writer, historyMax = a.historyMax, index = K.state_keys, key = a.key }, at)
return reply({ version = ver, at = at })

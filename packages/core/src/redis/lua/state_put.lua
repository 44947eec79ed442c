-- state_put: versioned write of one shared-state key (PUT If-Match, create-only, and the
-- compare-and-set step of a merge patch).
-- KEYS: value history state_keys meta?
-- value hash, history list, the scope's set of key names (a run's or a namespace's, for
-- listing); run-scoped keys also the run's meta hash (must exist).
-- ARGV[1] JSON { key: the key's name, dagId?, mode: "match"|"create", expected?: n, json: raw value text,
--   op: "put"|"create"|"patch", writer: { agent?, run?, node?, attempt? }, historyMax, now? }.
-- Returns { version, at }, or a conflict (reason version|exists|machine, current = { json,
--   version, machine?, state? }), or not_found (a run-scoped key whose run is gone).
-- Invariant: the value changes only when the caller's version is the current one (or, for
-- create, when the key does not exist), so no write is ever lost; a key under a machine
-- keeps its state.
--@include state_entry
local a = begin(K, ARGV)
local gone = state_run_check(K.meta, a.dagId)
if gone then return reply(gone) end
local c = state_check(K.value, a)
if c then return reply(c) end
local at = tonumber(clock(a))
local ver = state_apply(K.value, K.history, { json = a.json, op = a.op, writer = a.writer, historyMax = a.historyMax, index = K.state_keys, key = a.key }, at)
return reply({ version = ver, at = at })

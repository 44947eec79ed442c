-- state_put: versioned write of one shared-state key (PUT If-Match, create-only, and the
-- compare-and-set step of a merge patch).
-- KEYS[1] value hash, KEYS[2] history list; run-scoped keys also KEYS[3] the run's meta hash
--   (must exist) and KEYS[4] the run's state-keys set.
-- ARGV[1] JSON { key: the key's name, mode: "match"|"create", expected?: n, json: raw value text,
--   op: "put"|"create"|"patch", writer: { agent?, run?, node?, attempt? }, historyMax, now? }.
-- Returns { ok = true, version, at } or { ok = false, err = "version"|"exists"|"machine"|
--   "not_found" (run-scoped key, run gone), message, current = { json?, version } }.
-- Invariant: the value changes only when the caller's version is the current one (or, for
-- create, when the key does not exist), so no write is ever lost; a key under a machine
-- keeps its state.
--@include state_entry
local a = cjson.decode(ARGV[1])
local gone = state_run_check(KEYS[3])
if gone then return cjson.encode(gone) end
local c = state_check(KEYS[1], a)
if c then return cjson.encode(c) end
local at = state_now(a)
local ver = state_apply(KEYS[1], KEYS[2], { json = a.json, op = a.op, writer = a.writer, historyMax = a.historyMax, index = KEYS[4], key = a.key }, at)
return cjson.encode({ ok = true, version = ver, at = at })

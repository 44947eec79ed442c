-- state_put: versioned write of one shared-state key (PUT If-Match, create-only, and the
-- compare-and-set step of a merge patch).
-- KEYS[1] value hash, KEYS[2] history list.
-- ARGV[1] JSON { mode: "match"|"create", expected?: n, json: raw value text,
--   op: "put"|"create"|"patch", writer: { agent?, run?, node?, attempt? }, historyMax, now? }.
-- Returns { ok = true, version, at } or { ok = false, err = "version"|"exists"|"machine",
--   message, current = { json?, version } }.
-- Invariant: the value changes only when the caller's version is the current one (or, for
-- create, when the key does not exist), so no write is ever lost; a key under a machine
-- keeps its state.
--@include state_entry
local a = cjson.decode(ARGV[1])
local c = state_check(KEYS[1], a)
if c then return cjson.encode(c) end
local at = state_now(a)
local ver = state_apply(KEYS[1], KEYS[2], { json = a.json, op = a.op, writer = a.writer, historyMax = a.historyMax }, at)
return cjson.encode({ ok = true, version = ver, at = at })

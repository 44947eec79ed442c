-- state_names: one page of a set of names (a run's or a namespace's key names, a tenant's
-- namespaces), for listing them.
-- KEYS: index
-- FLAGS: no-writes
-- ARGV[1] JSON { cursor: SSCAN cursor ("0" to start), count }.
-- Returns { cursor: "0" when done, names: [...] } (names stays a JSON array when empty).
-- Invariant: a read never writes.
--@include call
local a = begin(K, ARGV)
local r = redis.call('SSCAN', K.index, a.cursor, 'COUNT', tonumber(a.count) or 100)
local names = {}
for i, n in ipairs(r[2]) do names[i] = cjson.encode(n) end
return reply('{"cursor":' .. cjson.encode(r[1]) .. ',"names":[' .. table.concat(names, ',') .. ']}')

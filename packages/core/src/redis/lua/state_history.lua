-- state_history: the most recent writes of one key, newest first.
-- KEYS[1] history list. ARGV[1] JSON { limit }.
-- Returns { entries: [{ version, op, at, writer, from?, to? }] } (entries stay a JSON array
-- even when empty, because they are joined as text rather than re-encoded).
-- Invariant: a read never writes.
local a = cjson.decode(ARGV[1])
local items = redis.call('LRANGE', KEYS[1], 0, (tonumber(a.limit) or 50) - 1)
return '{"entries":[' .. table.concat(items, ',') .. ']}'

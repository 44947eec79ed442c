-- state_history: the most recent writes of one key, newest first.
-- KEYS: history
-- FLAGS: no-writes
-- ARGV[1] JSON { limit }.
-- Returns { entries: [{ version, op, at, writer, from?, to? }] } (entries stay a JSON array
-- even when empty, because they are joined as text rather than re-encoded).
-- Invariant: a read never writes.
--@include call
local a = begin(K, ARGV)
local items = redis.call('LRANGE', K.history, 0, (tonumber(a.limit) or 50) - 1)
return reply('{"entries":[' .. table.concat(items, ',') .. ']}')

-- outbox_ack: forget outbox entries that reached the bus.
-- KEYS[1] shard prefix. ARGV[1] JSON { ids: [string] }. Returns { acked }.
--@include core
local a = cjson.decode(ARGV[1])
if #a.ids == 0 then return '{"acked":0}' end
return cjson.encode({ acked = redis.call('XDEL', P .. 'outbox', unpack(a.ids)) })

-- outbox_read: the oldest outbox entries of a shard, left in place until acked.
-- KEYS[1] shard prefix. ARGV[1] JSON { limit }. Returns { entries: [[id, [field, value...]]] }.
--@include core
local a = cjson.decode(ARGV[1])
return cjson.encode({ entries = redis.call('XRANGE', P .. 'outbox', '-', '+', 'COUNT', a.limit) })

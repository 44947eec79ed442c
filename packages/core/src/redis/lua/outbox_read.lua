-- outbox_read: the oldest outbox entries of a shard, left in place until acked.
-- KEYS: outbox
-- FLAGS: no-writes
-- ARGV[1] JSON { limit }. Returns { entries: [[id, [field, value...]]] }.
--@include core
local a = begin(K, ARGV)
return reply({ entries = redis.call('XRANGE', K.outbox, '-', '+', 'COUNT', a.limit) })

-- health: does this shard's Redis answer scripts, and how much waits in its outbox.
-- KEYS: outbox
-- ARGV[1] JSON {} (nothing).
-- Returns { outbox } (outbox entries not yet acked: one per script call that wrote events).
-- Reads only.
--@include call
begin(K, ARGV)
return reply({ outbox = redis.call('XLEN', K.outbox) })

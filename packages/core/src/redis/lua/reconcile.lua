-- reconcile: repair one shard: expired leases are retried or failed, due retries become ready.
-- KEYS: leases retries finished outbox queues shard_runs
-- ARGV[1] JSON { limit, seed, now? }.
-- Returns { retriesDue, expiredLeases }. Cost O(due + expired): index ranges, never a scan.
--@include node
local a = begin(K, ARGV)
math.randomseed(a.seed)
local due, expired = sweep_shard(clock(a), a.limit)
return reply({ retriesDue = due, expiredLeases = expired })

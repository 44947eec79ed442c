-- reconcile: repair one shard: expired leases are retried or failed, due retries become
-- ready, due waits time out.
-- KEYS: leases retries finished outbox queues shard_runs waits wait_keys inflight agents
-- ARGV[1] JSON { limit, seed, now? }.
-- Returns { retriesDue, expiredLeases, waitsDue }. Cost O(due + expired): index ranges, never a scan.
--@include signal
local a = begin(K, ARGV)
math.randomseed(a.seed)
local at = clock(a)
local due, expired = sweep_shard(at, a.limit)
return reply({ retriesDue = due, expiredLeases = expired, waitsDue = sweep_waits(at, a.limit) })

-- reconcile: repair one shard: expired leases are retried or failed, due retries become ready.
-- KEYS[1] shard prefix. ARGV[1] JSON { limit, seed, now? }.
-- Returns { retriesDue, expiredLeases }. Cost O(due + expired): index ranges, never a scan.
--@include node
local a = cjson.decode(ARGV[1])
math.randomseed(a.seed)
local due, expired = sweep_shard(now_ms(a), a.limit)
return cjson.encode({ retriesDue = due, expiredLeases = expired })

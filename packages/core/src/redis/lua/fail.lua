-- fail: a worker reports its attempt failed.
-- KEYS: run leases retries finished outbox queues waits wait_keys inflight agents
-- ARGV[1] JSON { tenant, dagId, nodeId, token, error (JSON object string),
--   retryable, seed, actor?, now? }.
-- Returns { status: retrying|failed, retryAt?, runStatus, duplicate }.
-- Invariants: only the live lease fails an attempt; retries stop at maxAttempts; the same
-- report twice changes nothing.
--@include node
local a = begin(K, ARGV)
math.randomseed(a.seed)
local run = run_at(K.run, a.tenant, a.dagId)
local at = clock(a)
local node = a.nodeId
local n = redis.call('HMGET', run.n .. node, 's', 'l', 'a')
local s = n[1]
if not s then return reply(node_missing(run, node)) end
local lease = parse_lease(n[2])
local attempt = tonumber(n[3]) or 0
if lease and lease.token == a.token and (s == 'retrying' or s == 'failed') then
  return reply({ status = s, runStatus = redis.call('HGET', run.meta, 'status'), duplicate = true })
end
if s ~= 'running' or not lease or lease.token ~= a.token then
  return reply(stale_lease(node, s, attempt))
end
local status, due = fail_attempt(run, node, attempt, a.error, a.retryable, at, a.actor or lease.worker)
local res = { status = status, runStatus = redis.call('HGET', run.meta, 'status'), duplicate = false }
if status == 'retrying' then res.retryAt = due end
return reply(res)

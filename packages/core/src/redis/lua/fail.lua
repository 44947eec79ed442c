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
local attempt = tonumber(n[3]) or 0
if (s == 'retrying' or s == 'failed') and lease_of(n[2], a.token) then
  return reply({ status = s, runStatus = redis.call('HGET', run.meta, 'status'), duplicate = true })
end
local lease, stale = check_lease(node, s, n[2], attempt, a.token)
if not lease then return reply(stale) end
local status, due = fail_attempt(run, node, attempt, a.error, a.retryable, at, a.actor or lease.worker)
local res = { status = status, runStatus = redis.call('HGET', run.meta, 'status'), duplicate = false }
if status == 'retrying' then res.retryAt = due end
return reply(res)

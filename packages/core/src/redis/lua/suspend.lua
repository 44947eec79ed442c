-- suspend: an agent that needs a decision ends its attempt and waits for a signal.
-- KEYS: run leases outbox waits wait_keys inflight agents
-- ARGV[1] JSON { tenant, dagId, nodeId, token, wait ("timeoutMs|onTimeout|key"),
--   waitOutput?, input? (raw JSON: what to decide), actor?, now? }.
-- Returns { status: "waiting", attempt, gen, timeoutAt? }; a stale token -> conflict.
-- Invariants: only the live lease suspends; the attempt does not count toward maxAttempts
-- (`b` grows by one) and its token is void; a signal's output makes the node ready again
-- and its next attempt carries the signal.
--@include node
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local at = clock(a)
local node = a.nodeId
local k = run.n .. node
local n = redis.call('HMGET', k, 's', 'l', 'a', 'g')
local s = n[1]
if not s then return reply(node_missing(run, node)) end
local attempt = tonumber(n[3]) or 0
local lease, stale = check_lease(node, s, n[2], attempt, a.token)
if not lease then return reply(stale) end
redis.call('ZREM', K.leases, member(run, node))
ag_left(run, node, 'running', n[4])
redis.call('HINCRBY', k, 'b', 1)
redis.call('HDEL', k, 'l', 'wo', 'wi', 'sg', 'si')
local f = { 'su', 1, 'W', a.wait }
if a.waitOutput then f[#f + 1] = 'wo'; f[#f + 1] = a.waitOutput end
if a.input then f[#f + 1] = 'wi'; f[#f + 1] = a.input end
redis.call('HSET', k, unpack(f))
local gen, deadline = begin_wait(run, node, 'running', attempt, at, a.actor or lease.worker, n[4])
local res = { status = 'waiting', attempt = attempt, gen = gen }
if deadline > 0 then res.timeoutAt = deadline end
return reply(res)

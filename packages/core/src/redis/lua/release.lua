-- release: a worker gives back the lease of an attempt it will not finish (graceful shutdown).
-- KEYS: run leases outbox queues agents
-- ARGV[1] JSON { tenant, dagId, nodeId, token, actor?, now? }.
-- Returns { status: "ready", attempt }; a stale token or a node not running -> conflict.
-- Invariants: only the live lease releases; the node is ready again at once (queued first in
-- its agent's queue, NodeReady in the outbox so push delivery re-delivers it); the released
-- attempt does not count toward maxAttempts (`b` grows by one), while attempt numbers keep
-- growing so the released token stays stale.
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
-- The given-back token is void (a late report must conflict): `l` becomes the ready mark.
set_status(run, node, 'ready', { 'l', ready_mark(run, at) })
redis.call('HINCRBY', k, 'b', 1)
-- RPUSH: claims pop from the right, so released work goes out before newer work.
redis.call('RPUSH', ready_queue(run.tenant, n[4]), run.id .. '|' .. node)
-- A paused run's node is not claimable (claims drop its entry): counted once resumed.
if not is_paused(run) then ag_ready(run.tenant, n[4], at, { run.id .. '|' .. node }) end
append_event(run, 'node.released', node, attempt, a.actor or lease.worker, at, 'running', nil)
outbox(run, 'NodeReady', node, n[4], attempt, at)
return reply({ status = 'ready', attempt = attempt })

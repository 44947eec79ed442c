-- extend: a running node adds nodes and dependencies to its run without finishing.
-- KEYS: run queues outbox waits wait_keys inflight agents
-- ARGV[1] JSON { tenant, dagId, nodeId, token, add (see
--   includes/grow.lua), digest, now? }.
-- Returns { duplicate, added: [id], ready: [id] }.
-- Invariants: fenced by the live lease (a stale token adds nothing); the same extension
-- twice within one attempt adds nothing the second time and says so; acyclic, all or nothing.
--@include grow
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local at = clock(a)
local node = a.nodeId
local n = redis.call('HMGET', run.n .. node, 's', 'l', 'a', 'x.' .. a.digest)
if not n[1] then return reply(node_missing(run, node)) end
local attempt = tonumber(n[3]) or 0
-- The same extension again: while the attempt runs, or once it succeeded (done_by).
if n[4] == a.token and (lease_of(n[2], a.token) or (n[1] == 'succeeded' and done_by(n[2], a.token))) then
  return reply({ duplicate = true, added = {}, ready = {} })
end
local _, stale = check_lease(node, n[1], n[2], attempt, a.token)
if stale then return reply(stale) end
local pushes = {}
local e, ids, ready = grow(run, a.add, { node = node, attempt = attempt }, at, pushes)
if e then return reply(e) end
push_ready(pushes)
redis.call('HSET', run.n .. node, 'x.' .. a.digest, a.token)
return reply({ duplicate = false, added = ids, ready = ready })

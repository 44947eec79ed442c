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
local lease = parse_lease(n[2])
local attempt = tonumber(n[3]) or 0
if lease and lease.token == a.token and n[4] == a.token then
  return reply({ duplicate = true, added = {}, ready = {} })
end
if n[1] ~= 'running' or not lease or lease.token ~= a.token then
  return reply(stale_lease(node, n[1], attempt))
end
local pushes = {}
local e, ids, ready = grow(run, a.add, { node = node, attempt = attempt }, at, pushes)
if e then return reply(e) end
push_ready(pushes)
redis.call('HSET', run.n .. node, 'x.' .. a.digest, a.token)
return reply({ duplicate = false, added = ids, ready = ready })

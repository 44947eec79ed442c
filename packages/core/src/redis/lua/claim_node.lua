-- claim_node: lease one given node (push delivery: a NodeReady subscriber claims its node).
-- KEYS: run leases agents
-- ARGV[1] JSON { tenant, dagId, nodeId, leaseMs, workerId, rand, now? }.
-- Returns { task } or a conflict naming the node's current status.
-- Invariant: only a ready node starts, so at most one live lease per node.
--@include node
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local at = clock(a)
local n = redis.call('HMGET', run.n .. a.nodeId, 's', 'g', 'a', 'p', 'i', 'sg', 'l')
if not n[1] then return reply(node_missing(run, a.nodeId)) end
if n[1] ~= 'ready' then
  return fail('conflict', 'node ' .. a.nodeId .. ' is ' .. n[1] .. ', not ready',
    { current = { status = n[1], attempt = tonumber(n[3]) or 0, runStatus = redis.call('HGET', run.meta, 'status') } })
end
-- A paused run hands out nothing; resume announces its ready nodes again.
if is_paused(run) then
  return fail('conflict', 'run ' .. a.dagId .. ' is paused; node ' .. a.nodeId .. ' is handed out after resume',
    { current = { status = n[1], attempt = tonumber(n[3]) or 0, runStatus = 'paused' } })
end
return reply({ task = start_attempt(run, a.nodeId, n[2], { n[3], n[4], n[5], n[6], n[7] }, a.leaseMs, a.workerId, a.rand, at) })

-- claim_node: lease one given node (push delivery: a NodeReady subscriber claims its node).
-- KEYS[1] shard prefix. ARGV[1] JSON { tenant, dagId, nodeId, leaseMs, workerId, rand, now? }.
-- Returns { task } or a conflict naming the node's current status.
--@include node
local a = cjson.decode(ARGV[1])
local run = run_ctx(a.tenant, a.dagId)
local at = now_ms(a)
local rs = redis.call('HGET', run.meta, 'status')
if not rs then return err('not_found', 'run ' .. a.dagId .. ' not found') end
local s = redis.call('HGET', run.k .. 'status', a.nodeId)
if not s then return err('not_found', 'node ' .. a.nodeId .. ' not found in run ' .. a.dagId) end
if s ~= 'ready' then
  return err('conflict', 'node ' .. a.nodeId .. ' is ' .. s .. ', not ready', { status = s, runStatus = rs })
end
return cjson.encode({ task = start_attempt(run, a.nodeId, a.leaseMs, a.workerId, a.rand, at) })

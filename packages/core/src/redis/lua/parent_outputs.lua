-- parent_outputs: the outputs of one node's dependencies (what its agent builds on).
-- KEYS: run
-- FLAGS: no-writes
-- ARGV[1] JSON { tenant, dagId, nodeId }.
-- Returns { deps: [id], outputs: [output JSON | false], statuses: [status] } in the node's
-- dependency order; false for a dependency without an output (not succeeded). Read-only: one script, so the
-- outputs are read as of one moment.
--@include core
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local n = redis.call('HMGET', run.n .. a.nodeId, 's', 'd')
if not n[1] then return reply(node_missing(run, a.nodeId)) end
local deps = split(n[2], ',')
local outputs = {}
local statuses = {}
for i, d in ipairs(deps) do
  local o = redis.call('HMGET', run.n .. d, 'o', 's')
  outputs[i] = o[1]
  statuses[i] = o[2] or 'pending'
end
return reply({ deps = deps, outputs = outputs, statuses = statuses })

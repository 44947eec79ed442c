-- heartbeat: extend a live lease, never past the attempt's timeout deadline.
-- KEYS: run leases agents
-- ARGV[1] JSON { tenant, dagId, nodeId, token, leaseMs, now? }.
-- Returns { leaseExpiresAt }; a stale token or a node not running -> conflict.
--@include node
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local at = clock(a)
local n = redis.call('HMGET', run.n .. a.nodeId, 's', 'l', 'a', 'g')
if not n[1] then return reply(node_missing(run, a.nodeId)) end
local attempt = tonumber(n[3]) or 0
local lease, stale = check_lease(a.nodeId, n[1], n[2], attempt, a.token)
if not lease then return reply(stale) end
local exp = at + a.leaseMs
if lease.deadline > 0 and lease.deadline < exp then exp = lease.deadline end
redis.call('HSET', run.n .. a.nodeId, 'l', lease.token .. '|' .. exp .. '|' .. lease.worker .. '|' .. lease.deadline)
redis.call('ZADD', K.leases, exp, member(run, a.nodeId))
ag_lease(run, a.nodeId, n[4], exp)
append_event(run, 'node.heartbeat', a.nodeId, attempt, lease.worker, at, nil, '{"leaseExpiresAt":' .. exp .. '}')
return reply({ leaseExpiresAt = exp })

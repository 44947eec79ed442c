-- complete: record a node's output and release children whose deps have all succeeded.
-- KEYS[1] shard prefix. ARGV[1] JSON { tenant, dagId, nodeId, token, output (JSON string),
--   actor, seed, now?, next?: { agent, max, leaseMs, workerId, rands } }.
-- Returns { duplicate, ready: [id], runStatus, next?: [Task] }.
-- Invariants: only the live lease completes (fencing); the same completion twice changes
-- nothing and says so; a child is released exactly once, by the last dep to succeed.
--@include node
local a = cjson.decode(ARGV[1])
local run = run_ctx(a.tenant, a.dagId)
local at = now_ms(a)
local rs = redis.call('HGET', run.meta, 'status')
if not rs then return err('not_found', 'run ' .. a.dagId .. ' not found') end
local node = a.nodeId
local s = redis.call('HGET', run.k .. 'status', node)
if not s then return err('not_found', 'node ' .. node .. ' not found in run ' .. a.dagId) end
local lease = lease_of(run, node)
local attempt = tonumber(redis.call('HGET', run.k .. 'attempt', node)) or 0
local current = { status = s, attempt = attempt }

if s == 'succeeded' and lease and lease.token == a.token then
  if redis.call('HGET', run.k .. 'output', node) ~= a.output then
    return err('conflict', 'node ' .. node .. ' already succeeded with a different output', current)
  end
  return cjson.encode({ duplicate = true, ready = {}, runStatus = rs })
end
if s ~= 'running' or not lease or lease.token ~= a.token then
  return err('conflict', 'lease token is not the live lease of node ' .. node .. ' (node is ' .. s .. ', attempt ' .. attempt .. ')', current)
end

redis.call('ZREM', P .. 'leases', member(run, node))
redis.call('HSET', run.k .. 'output', node, a.output)
set_status(run, node, 'running', 'succeeded')
local by = a.actor or lease.worker
append_event(run, 'node.succeeded', node, attempt, by, at, 'running', nil)
outbox(run, 'NodeSucceeded', node, redis.call('HGET', run.k .. 'agent', node), attempt, at)

local ready = {}
for _, child in ipairs(split(redis.call('HGET', run.k .. 'children', node), ',')) do
  local left = redis.call('HINCRBY', run.k .. 'waiting', child, -1)
  if left == 0 and redis.call('HGET', run.k .. 'status', child) == 'pending' then
    make_ready(run, child, 'pending', at, 'engine')
    ready[#ready + 1] = child
  end
end
local status = maybe_finish(run, at, 'engine')

local res = { duplicate = false, ready = ready, runStatus = status }
if a.next then
  math.randomseed(a.seed)
  local n = a.next
  res.next = claim_queue(a.tenant, n.agent, n.max, n.leaseMs, n.workerId, n.rands, at)
end
return cjson.encode(res)

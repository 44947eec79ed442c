-- submit: create a run; its roots become ready.
-- KEYS: run tenant_runs queues outbox waits wait_keys inflight agents
-- ARGV[1] JSON { tenant, id, defHash, idempotencyKey?, onFailure,
--   policy, order, actor, now?, roots: [id], nodes: [{ id, agent, deps?, waiting?, children?,
--   input?, policy?, join?, tolerate?, onFailure?, wait?, waitOutput? }] } (deps/children
--   comma-joined, input a JSON string; `waiting` is join when a join is set; a wait node has
--   no agent, `wait` is "timeoutMs|onTimeout|key", includes/wait.lua), maxInFlight? (the
--   tenant's runs in flight this shard may hold: engine option maxRunsInFlight), traceparent?
--   (the run's trace context, meta.tp: its tasks and NodeReady events carry it).
-- Returns { created, status, ready: [id] }; an existing run with the same definition hash
-- (same id or idempotency key) is returned unchanged with created=false, another -> conflict.
-- A new run over maxInFlight -> rate_limited, naming the limit (the count and the check are
-- this one script: concurrent submits cannot pass it together).
-- Invariant: the run appears whole or not at all; only roots start ready.
--@include node
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.id)
local at = clock(a)

local existing = redis.call('HMGET', run.meta, 'defHash', 'status')
if existing[1] then
  if existing[1] ~= a.defHash then
    return fail('conflict', 'run ' .. a.id .. ' already exists with a different definition', { current = { status = existing[2] } })
  end
  local ready = {}
  for _, node in ipairs(split(redis.call('GET', run.k .. 'order'), ',')) do
    if redis.call('HGET', run.n .. node, 's') == 'ready' then ready[#ready + 1] = node end
  end
  return reply({ created = false, status = existing[2], ready = ready })
end
local inflight = tonumber(redis.call('HGET', K.inflight, a.tenant)) or 0
if a.maxInFlight and inflight >= a.maxInFlight then
  return fail('rate_limited', 'tenant ' .. a.tenant .. ' has ' .. inflight .. ' runs in flight, its limit (maxRunsInFlight)' ..
    ' is ' .. a.maxInFlight .. ((a.shards or 1) > 1 and (' per shard of ' .. a.shards) or '') .. '; submit again once a run has ended',
    { limit = 'maxRunsInFlight', max = a.maxInFlight, inFlight = inflight })
end
redis.call('HINCRBY', K.inflight, a.tenant, 1)

for _, n in ipairs(a.nodes) do
  local f = { 's', 'pending' }
  if n.agent then f[#f + 1] = 'g'; f[#f + 1] = n.agent end
  if n.wait then f[#f + 1] = 'W'; f[#f + 1] = n.wait end
  if n.waitOutput then f[#f + 1] = 'wo'; f[#f + 1] = n.waitOutput end
  if n.deps then f[#f + 1] = 'd'; f[#f + 1] = n.deps; f[#f + 1] = 'w'; f[#f + 1] = n.waiting end
  if n.children then f[#f + 1] = 'c'; f[#f + 1] = n.children end
  if n.input then f[#f + 1] = 'i'; f[#f + 1] = n.input end
  if n.policy then f[#f + 1] = 'p'; f[#f + 1] = n.policy end
  if n.join then f[#f + 1] = 'j'; f[#f + 1] = n.join; f[#f + 1] = 'q'; f[#f + 1] = n.tolerate end
  if n.onFailure then f[#f + 1] = 'f'; f[#f + 1] = n.onFailure end
  redis.call('HSET', run.n .. n.id, unpack(f))
end
redis.call('SET', run.k .. 'order', a.order)
local agents = {}
for _, n in ipairs(a.nodes) do if n.agent then agents[#agents + 1] = n.agent end end
ag_register(a.tenant, agents)

local total = #a.nodes
redis.call('HSET', run.meta, 'tenant', a.tenant, 'id', a.id, 'status', 'running', 'onFailure', a.onFailure,
  'policy', a.policy, 'defHash', a.defHash, 'createdAt', at, 'total', total, 'remaining', total,
  'idempotencyKey', a.idempotencyKey or '')
if a.traceparent then redis.call('HSET', run.meta, 'tp', a.traceparent) end
redis.call('ZADD', K.tenant_runs, at, a.id)
append_event(run, 'run.submitted', nil, nil, a.actor, at, nil,
  cjson.encode({ nodes = total, onFailure = a.onFailure }))
local by_id = {}
for _, n in ipairs(a.nodes) do by_id[n.id] = n end
local ready = {}
for _, id in ipairs(a.roots) do
  if make_ready(run, id, 'pending', by_id[id].agent, '0', at, a.actor) then ready[#ready + 1] = id end
end
return reply({ created = true, status = 'running', ready = ready })

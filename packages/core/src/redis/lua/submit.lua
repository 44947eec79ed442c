-- submit: create a run; its roots become ready.
-- KEYS[1] shard prefix. ARGV[1] JSON { tenant, id, defHash, idempotencyKey?, onFailure,
--   policy, now?, roots: [id], nodes: [{ id, agent, deps?, children?, input?, policy? }] }
--   (deps/children comma-joined, input a JSON string, policy "max,backoff,maxBackoff,timeout").
-- Returns { created, status, ready: [id] }; an existing run with the same definition hash
-- (same id or idempotency key) is returned unchanged with created=false, another -> conflict.
-- Invariant: the run appears whole or not at all; only roots start ready.
--@include node
local a = cjson.decode(ARGV[1])
local run = run_ctx(a.tenant, a.id)
local at = now_ms(a)

local existing = redis.call('HMGET', run.meta, 'defHash', 'status')
if existing[1] then
  if existing[1] ~= a.defHash then
    return err('conflict', 'run ' .. a.id .. ' already exists with a different definition', { status = existing[2] })
  end
  local st = redis.call('HGETALL', run.k .. 'status')
  local ready = {}
  for i = 1, #st, 2 do if st[i + 1] == 'ready' then ready[#ready + 1] = st[i] end end
  return cjson.encode({ created = false, status = existing[2], ready = ready })
end

-- Write node fields in bulk: one HSET per hash per 500 nodes instead of one per field.
local hashes = { status = {}, agent = {}, deps = {}, children = {}, waiting = {}, input = {}, policy = {} }
local function flush()
  for name, fv in pairs(hashes) do
    if #fv > 0 then redis.call('HSET', run.k .. name, unpack(fv)) end
    hashes[name] = {}
  end
end
local function put(name, field, value)
  local t = hashes[name]
  t[#t + 1] = field
  t[#t + 1] = value
end
for i, n in ipairs(a.nodes) do
  put('status', n.id, 'pending')
  put('agent', n.id, n.agent)
  if n.deps then put('deps', n.id, n.deps); put('waiting', n.id, n.waiting) end
  if n.children then put('children', n.id, n.children) end
  if n.input then put('input', n.id, n.input) end
  if n.policy then put('policy', n.id, n.policy) end
  if i % 500 == 0 then flush() end
end
flush()
redis.call('SET', run.k .. 'order', a.order)

local total = #a.nodes
redis.call('HSET', run.meta, 'tenant', a.tenant, 'id', a.id, 'status', 'running', 'onFailure', a.onFailure,
  'policy', a.policy, 'defHash', a.defHash, 'createdAt', at, 'total', total, 'seq', 0,
  'c:pending', total, 'idempotencyKey', a.idempotencyKey or '')
append_event(run, 'run.submitted', nil, nil, a.actor or 'api', at, nil,
  cjson.encode({ nodes = total, onFailure = a.onFailure }))
for _, id in ipairs(a.roots) do make_ready(run, id, 'pending', at, a.actor or 'api') end
return cjson.encode({ created = true, status = 'running', ready = a.roots })

-- pause_run: pause a running run (no node of it is handed out) or resume it.
-- KEYS: run outbox queues agents
-- ARGV[1] JSON { tenant, dagId, mode: pause|resume, actor, now? }.
-- Returns { status, changed }: pausing a paused run or resuming one that is not paused
-- changes nothing; an ended run cannot be paused (conflict).
-- Invariants: running attempts finish normally and the reconcile keeps their leases; a
-- node made ready while paused is neither queued nor announced until resume, which
-- queues every ready node again and sends its NodeReady once.
--@include node
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local at = clock(a)
local m = redis.call('HMGET', run.meta, 'status', 'pz')
if not m[1] then return reply(run_not_found(a.dagId)) end
if m[1] ~= 'running' then
  if a.mode == 'resume' then return reply({ status = m[1], changed = false }) end
  return fail('conflict', 'run ' .. a.dagId .. ' is ' .. m[1] .. '; only a running run can be paused', { current = { status = m[1] } })
end
if a.mode == 'pause' then
  if m[2] then return reply({ status = 'paused', changed = false }) end
  redis.call('HSET', run.meta, 'pz', at)
  run.paused = true
  -- Its ready nodes are not claimable while paused: out of the scaling index until resume.
  for _, node in ipairs(split(redis.call('GET', run.k .. 'order'), ',')) do
    local n = redis.call('HMGET', run.n .. node, 's', 'g', 'l')
    if n[1] == 'ready' then
      ag_left(run, node, 'ready', n[2], n[3])
      -- Not counted while paused: resume counts it again (includes/agents.lua).
      if n[3] and n[3] ~= '' then redis.call('HSET', run.n .. node, 'l', '') end
    end
  end
  append_event(run, 'run.paused', nil, nil, a.actor, at, nil, nil)
  return reply({ status = 'paused', changed = true })
end
if not m[2] then return reply({ status = 'running', changed = false }) end
redis.call('HDEL', run.meta, 'pz')
run.paused = false
append_event(run, 'run.resumed', nil, nil, a.actor, at, nil, '{"mode":"resume"}')
local pushes = {}
for _, node in ipairs(split(redis.call('GET', run.k .. 'order'), ',')) do
  local n = redis.call('HMGET', run.n .. node, 's', 'g', 'a')
  if n[1] == 'ready' then
    -- Counted again from now (includes/agents.lua).
    redis.call('HSET', run.n .. node, 'l', at)
    queue_later(pushes, run.tenant, n[2], run.id .. '|' .. node, at)
    outbox(run, 'NodeReady', node, n[2], tonumber(n[3]) or 0, at)
  end
end
push_ready(pushes)
return reply({ status = 'running', changed = true })

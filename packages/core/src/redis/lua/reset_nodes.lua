-- reset_nodes: run part of a run again.
--   mode "redrive": every failed, cancelled and skipped node of a finished run; succeeded
--     outputs are kept, so no expensive call is repeated.
--   mode "rewind": one node and all its descendants, whatever their status.
-- KEYS: run leases retries finished tenant_runs outbox queues waits wait_keys inflight agents
-- ARGV[1] JSON { tenant, dagId, mode, nodeId?, actor, now? }.
-- Returns { status, reset: [id], ready: [id], removed: [id] }.
-- Invariants: attempt numbers keep growing (old lease tokens stay stale) while the retry
-- budget restarts; a reset node waits for every dep that has not succeeded (a join for its
-- quorum); the run is running again and its keys lose their TTL. A rewind removes the
-- nodes the rewound nodes added (and what those added): the adder runs again and adds
-- anew. Dependencies an addition gave existing nodes toward existing nodes stay.
--@include node
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local at = clock(a)
local rs = redis.call('HGET', run.meta, 'status')
if not rs then return reply(run_not_found(a.dagId)) end
local order = split(redis.call('GET', run.k .. 'order'), ',')

local targets = {}
if a.mode == 'redrive' then
  if rs == 'running' then return fail('conflict', 'run ' .. a.dagId .. ' is still running; redrive a finished run', { current = { status = rs } }) end
  for _, node in ipairs(order) do
    local s = redis.call('HGET', run.n .. node, 's')
    if s == 'failed' or s == 'cancelled' or s == 'skipped' then targets[#targets + 1] = node end
  end
  if #targets == 0 then return fail('conflict', 'run ' .. a.dagId .. ' has no failed, cancelled or skipped node to redrive', { current = { status = rs } }) end
else
  if redis.call('EXISTS', run.n .. a.nodeId) == 0 then return fail('not_found', 'node ' .. a.nodeId .. ' not found in run ' .. a.dagId) end
  local seen = { [a.nodeId] = true }
  targets[1] = a.nodeId
  local i = 1
  while i <= #targets do
    for _, c in ipairs(split(redis.call('HGET', run.n .. targets[i], 'c'), ',')) do
      if not seen[c] then seen[c] = true; targets[#targets + 1] = c end
    end
    i = i + 1
  end
end

-- Rewind: the nodes added by a reset node go, and so do the nodes those added.
local removed = {}
local gone = {}
if a.mode == 'rewind' then
  local adders = {}
  for _, t in ipairs(targets) do adders[t] = true end
  -- `order` lists nodes as they were added, so an adder always comes before what it added.
  for _, node in ipairs(order) do
    local ab = redis.call('HGET', run.n .. node, 'ab')
    local by = ab and string.match(ab, '^([^|]+)|')
    if by and adders[by] then
      gone[node] = true
      adders[node] = true
      removed[#removed + 1] = node
    end
  end
  if #removed > 0 then
    local keep = {}
    for _, t in ipairs(targets) do if not gone[t] then keep[#keep + 1] = t end end
    targets = keep
  end
end
-- A reset node whose failed deps stay failed could never run again (a join: could not be met),
-- and the run would wait for it forever: refuse up front.
local resetting = {}
for _, t in ipairs(targets) do resetting[t] = true end
for _, node in ipairs(targets) do
  local j = tonumber(redis.call('HGET', run.n .. node, 'j'))
  local deps = split(redis.call('HGET', run.n .. node, 'd'), ',')
  local bad = {}
  for _, d in ipairs(deps) do
    local s = redis.call('HGET', run.n .. d, 's')
    if not resetting[d] and not gone[d] and (s == 'failed' or s == 'skipped' or s == 'cancelled') then bad[#bad + 1] = d end
  end
  if #bad > #deps - (j or #deps) then
    local what = j and ('the join of node ' .. node .. ' could not be met: ' .. #bad .. ' of its deps stay failed')
      or ('node ' .. node .. ' could never run again: its dep ' .. bad[1] .. ' stays ' .. redis.call('HGET', run.n .. bad[1], 's'))
    return fail('conflict', what .. '; rewind them too', { current = { status = rs } })
  end
end

if rs ~= 'running' then
  -- Back to life: drop the TTL the flush set and the run's place in the finished index.
  for _, node in ipairs(order) do redis.call('PERSIST', run.n .. node) end
  for _, name in ipairs(redis.call('SMEMBERS', run.k .. 'state-keys')) do
    redis.call('PERSIST', run.k .. 'state:' .. name)
    redis.call('PERSIST', run.k .. 'state-history:' .. name)
  end
  for _, k in ipairs({ 'meta', 'order', 'events', 'state-keys' }) do redis.call('PERSIST', run.k .. k) end
  redis.call('ZREM', K.finished, run.tenant .. '|' .. run.id)
  redis.call('ZADD', K.tenant_runs, tonumber(redis.call('HGET', run.meta, 'createdAt')), run.id)
  redis.call('HSET', run.meta, 'status', 'running')
  redis.call('HINCRBY', K.inflight, run.tenant, 1)
  redis.call('HDEL', run.meta, 'finishedAt', 'archivedAt')
  append_event(run, 'run.resumed', nil, nil, a.actor, at, nil, cjson.encode({ mode = a.mode, nodes = #targets }))
end

local data = cjson.encode({ mode = a.mode })
-- Pending nodes outside the rewind that lose a dep to the removal count their deps again.
local recount = {}
if #removed > 0 then
  local rdata = cjson.encode({ mode = a.mode, cause = a.nodeId })
  local left = {}
  for _, node in ipairs(order) do if not gone[node] then left[#left + 1] = node end end
  for _, node in ipairs(removed) do
    local n = redis.call('HMGET', run.n .. node, 's', 'a', 'd', 'c', 't', 'g', 'l')
    local s = n[1]
    ag_left(run, node, s, n[6], n[7])
    if s == 'running' then redis.call('ZREM', K.leases, member(run, node)) end
    if s == 'retrying' then redis.call('ZREM', K.retries, member(run, node)) end
    if s == 'waiting' then clear_wait(run, node) end
    if not TERMINAL[s] then remaining_add(run, -1) end
    if s == 'failed' or s == 'cancelled' or s == 'skipped' then redis.call('HINCRBY', run.meta, s, -1) end
    if n[5] then redis.call('HINCRBY', run.meta, 'tolerated', -1) end
    -- Deps and children that stay forget the removed node.
    for _, d in ipairs(split(n[3], ',')) do
      if not gone[d] then
        local kept = {}
        for _, c in ipairs(split(redis.call('HGET', run.n .. d, 'c'), ',')) do if c ~= node then kept[#kept + 1] = c end end
        redis.call('HSET', run.n .. d, 'c', table.concat(kept, ','))
      end
    end
    for _, c in ipairs(split(n[4], ',')) do
      if not gone[c] then
        local kept = {}
        for _, d in ipairs(split(redis.call('HGET', run.n .. c, 'd'), ',')) do if d ~= node then kept[#kept + 1] = d end end
        redis.call('HSET', run.n .. c, 'd', table.concat(kept, ','))
        recount[#recount + 1] = c
      end
    end
    redis.call('DEL', run.n .. node)
    append_event(run, 'node.removed', node, tonumber(n[2]) or 0, a.actor, at, s, rdata)
  end
  redis.call('HINCRBY', run.meta, 'total', -#removed)
  redis.call('SET', run.k .. 'order', table.concat(left, ','))
end
local agents = {}
for _, node in ipairs(targets) do
  local n = redis.call('HMGET', run.n .. node, 's', 'a', 'g', 'l')
  local s = n[1]
  ag_left(run, node, s, n[3], n[4])
  if n[3] then agents[#agents + 1] = n[3] end
  if s == 'running' then redis.call('ZREM', K.leases, member(run, node)) end
  if s == 'retrying' then redis.call('ZREM', K.retries, member(run, node)) end
  if s == 'waiting' then clear_wait(run, node) end
  if TERMINAL[s] then remaining_add(run, 1) end
  if s == 'failed' or s == 'cancelled' or s == 'skipped' then redis.call('HINCRBY', run.meta, s, -1) end
  if redis.call('HGET', run.n .. node, 't') then redis.call('HINCRBY', run.meta, 'tolerated', -1) end
  -- The signal and any suspend go too; a wait node keeps its wait (W, wo) and waits again.
  redis.call('HDEL', run.n .. node, 'o', 'e', 'l', 't', 'ad', 'sg', 'su', 'wi', 'wd')
  if redis.call('HEXISTS', run.n .. node, 'g') == 1 then redis.call('HDEL', run.n .. node, 'W', 'wo') end
  redis.call('HSET', run.n .. node, 's', 'pending', 'b', tonumber(n[2]) or 0)
  append_event(run, 'node.reset', node, tonumber(n[2]) or 0, a.actor, at, s, data)
end
-- A redriven run's agents may have left the tenant's agent set (nothing in flight): back in.
ag_register(run.tenant, agents)
-- Counters read as "how many" elsewhere; a zero must read as absent-or-zero alike.
for _, k in ipairs({ 'failed', 'cancelled', 'skipped', 'tolerated' }) do
  if (tonumber(redis.call('HGET', run.meta, k)) or 0) <= 0 then redis.call('HDEL', run.meta, k) end
end

local ready = {}
local counted = {}
for _, t in ipairs(targets) do counted[t] = true end
for _, c in ipairs(recount) do
  if not counted[c] and redis.call('HGET', run.n .. c, 's') == 'pending' then
    counted[c] = true
    targets[#targets + 1] = c
  end
end
for _, node in ipairs(targets) do
  local waiting, bad = 0, 0
  local deps = split(redis.call('HGET', run.n .. node, 'd'), ',')
  for _, d in ipairs(deps) do
    local s = redis.call('HGET', run.n .. d, 's')
    if s ~= 'succeeded' then waiting = waiting + 1 end
    if s == 'failed' or s == 'skipped' or s == 'cancelled' then bad = bad + 1 end
  end
  local j = tonumber(redis.call('HGET', run.n .. node, 'j'))
  if j then
    -- A join waits for j successes and tolerates what is left over, less what already failed.
    waiting = j - (#deps - waiting)
    redis.call('HSET', run.n .. node, 'q', #deps - j - bad)
  end
  redis.call('HSET', run.n .. node, 'w', waiting)
  if waiting <= 0 then
    if make_ready(run, node, 'pending', redis.call('HGET', run.n .. node, 'g'), tonumber(redis.call('HGET', run.n .. node, 'a')) or 0, at, a.actor) then
      ready[#ready + 1] = node
    end
  end
end
return reply({ status = 'running', reset = targets, ready = ready, removed = removed })

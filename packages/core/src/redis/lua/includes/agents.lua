-- Scaling signals (GET /v1/agents, read by agent_signals.lua): per tenant and agent on the
-- shard, under the declared prefix K.agents (redis/keys.ts, ShardKeys.agents):
--   `<agents><tenant>:<agent>:ready`   zset of claimable ready nodes `dagId|node`, by the
--                                      time they became ready (queued: a paused run's are not);
--   `<agents><tenant>:<agent>:running` zset of running attempts `dagId|node`, by lease expiry;
--   `<agents><tenant>`                 set of the tenant's agents with nodes on the shard,
--                                      written where nodes come (submit, grow, redrive and
--                                      rewind: ag_register), not per transition; the reader
--                                      drops those with neither index once the tenant has no
--                                      run in flight on the shard.
-- Written next to every ready-queue push and every lease-index write or removal, so the
-- counts are exact without a scan. A node waiting for a retry, pending or waiting is in neither.
--
-- Ready entries are written when the call ends (ag_flush, run by reply() through
-- CALL.flush): one queued and claimed or taken out again in the same call (a chain's child,
-- claimed by the completion's claimNext) costs no ZADD and no ZREM.
--@include call

local AG_CHUNK = 1000

local function ag_key(tenant, agent, what) return K.agents .. tenant .. ':' .. agent .. what end

-- `list` is flat: score, member, ... (step 2, ZADD) or member, ... (step 1, ZREM).
local function ag_chunked(cmd, key, list, step)
  local n = AG_CHUNK * step
  for i = 1, #list, n do redis.call(cmd, key, unpack(list, i, math.min(i + n - 1, #list))) end
end

-- The call's ready entries not written yet: ready key -> { list (in queue
-- order: ZADD in that order touches the skiplist like the queue did), at = { entry -> time,
-- nil once taken out again } }.
local function ag_flush()
  for key, b in pairs(CALL.ag) do
    local z = {}
    for _, e in ipairs(b.list) do
      local at = b.at[e]
      if at then
        z[#z + 1] = at
        z[#z + 1] = e
      end
    end
    if #z > 0 then ag_chunked('ZADD', key, z, 2) end
  end
end

-- The agents (names, duplicates allowed) of nodes a call brings to the shard: one SADD.
local function ag_register(tenant, agents)
  local seen, list = {}, {}
  for _, g in ipairs(agents) do
    if not seen[g] then
      seen[g] = true
      list[#list + 1] = g
    end
  end
  if #list > 0 then ag_chunked('SADD', K.agents .. tenant, list, 1) end
end

-- Entries `dagId|node` of one tenant and agent became claimable at `at`.
local function ag_ready(tenant, agent, at, entries)
  local buf = CALL.ag
  if not buf then
    buf = {}
    CALL.ag = buf
    CALL.flush = ag_flush
  end
  local key = ag_key(tenant, agent, ':ready')
  local b = buf[key]
  if not b then
    b = { list = {}, at = {} }
    buf[key] = b
  end
  local list = b.list
  for _, e in ipairs(entries) do
    list[#list + 1] = e
    b.at[e] = at
  end
end

-- Entries leave the ready index: those queued in this call are just forgotten.
local function ag_unready(key, entries)
  local b = CALL.ag and CALL.ag[key]
  local gone = entries
  if b then
    gone = {}
    for _, e in ipairs(entries) do
      if b.at[e] then b.at[e] = nil else gone[#gone + 1] = e end
    end
  end
  if #gone > 0 then ag_chunked('ZREM', key, gone, 1) end
end

-- Claimed: `entries` leave ready, `leases` (exp, entry, ...) are running.
local function ag_claimed(tenant, agent, entries, leases)
  if #entries == 0 then return end
  ag_unready(ag_key(tenant, agent, ':ready'), entries)
  ag_chunked('ZADD', ag_key(tenant, agent, ':running'), leases, 2)
end

-- A running attempt's lease now expires at `exp` (a heartbeat).
local function ag_lease(run, node, agent, exp)
  redis.call('ZADD', ag_key(run.tenant, agent, ':running'), exp, run.id .. '|' .. node)
end

-- A node left status `s` (ready or running; other statuses are in no index).
local function ag_left(run, node, s, agent)
  if not agent then return end
  if s == 'ready' then
    ag_unready(ag_key(run.tenant, agent, ':ready'), { run.id .. '|' .. node })
  elseif s == 'running' then
    redis.call('ZREM', ag_key(run.tenant, agent, ':running'), run.id .. '|' .. node)
  end
end

-- Running attempts that ended in one call, collected per agent: one ZREM per agent.
local function ag_ended(batch, run, node, agent)
  local key = ag_key(run.tenant, agent, ':running')
  local l = batch[key]
  if not l then
    l = {}
    batch[key] = l
  end
  l[#l + 1] = run.id .. '|' .. node
end
local function ag_flush_ended(batch)
  for key, l in pairs(batch) do ag_chunked('ZREM', key, l, 1) end
end

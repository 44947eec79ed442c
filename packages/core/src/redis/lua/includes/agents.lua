-- Scaling signals (GET /v1/agents, read by agent_signals.lua): per tenant and agent on the
-- shard, under the declared prefix K.agents (redis/keys.ts, ShardKeys.agents):
--   `<agents><tenant>:<agent>:ready.n`  hash: ready time -> how many claimable ready nodes
--                                       became ready then, and `n` -> how many in all;
--   `<agents><tenant>:<agent>:ready.at` zset of those ready times (member = score), for the
--                                       oldest: one entry per time, not per node;
--   `<agents><tenant>:<agent>:ready`    zset of claimable ready nodes `dagId|node` by ready
--                                       time: written by the code before the counts (an
--                                       upgrade's runs in flight), only read and drained now;
--   `<agents><tenant>:<agent>:running`  zset of running attempts `dagId|node`, by lease expiry;
--   `<agents><tenant>`                  set of the tenant's agents with nodes on the shard,
--                                       written where nodes come (submit, grow, redrive and
--                                       rewind: ag_register), not per transition; the reader
--                                       drops those with neither index once the tenant has no
--                                       run in flight on the shard.
-- A ready node's lease field `l` holds the time it is counted under (it has no lease while
-- ready), written by the HSET that makes it ready (make_ready, an addition, release; resume
-- writes it once more) and replaced by the lease in the HSET that starts its attempt, so
-- counting costs no command and no field per node: a ready node whose `l` is a time (not
-- empty, no '|') is counted under it (a paused run's have '': pause empties it), and whatever
-- takes a ready node out reads `l` in the HMGET it already does. A ready node whose `l` is
-- absent or an old lease (`token|exp|...`) was made ready by the version before the counts.
-- Counts instead of a zset of nodes: a zset over 128 entries costs ~145 B per node (skiplist,
-- dict and member), the peak of a wide fan-out.
-- Written next to every ready-queue push and every lease-index write or removal, so the
-- counts are exact without a scan. A node waiting for a retry, pending or waiting is in neither.
--
-- Count changes are summed per time and written when the call ends (ag_flush, run by reply()
-- through CALL.flush): one HINCRBY per time and agent per call (a call's nodes share its clock),
-- not per node; one queued and claimed or taken out again in the same call (a chain's child,
-- claimed by the completion's claimNext) costs nothing.
--@include call

local AG_CHUNK = 1000

local function ag_key(tenant, agent, what) return K.agents .. tenant .. ':' .. agent .. what end

-- `list` is flat: score, member, ... (step 2, ZADD) or member, ... (step 1, ZREM).
local function ag_chunked(cmd, key, list, step)
  local n = AG_CHUNK * step
  for i = 1, #list, n do redis.call(cmd, key, unpack(list, i, math.min(i + n - 1, #list))) end
end

-- `key` is the ready prefix `<agents><tenant>:<agent>:ready`; `by` maps ready time -> count
-- change. A time enters the zset with its first node and leaves both with its last.
local function ag_count(key, by)
  local total = 0
  for t, d in pairs(by) do
    if d ~= 0 then
      total = total + d
      local c = redis.call('HINCRBY', key .. '.n', t, d)
      if c <= 0 then
        redis.call('HDEL', key .. '.n', t)
        redis.call('ZREM', key .. '.at', t)
      elseif c == d then
        redis.call('ZADD', key .. '.at', t, t)
      end
    end
  end
  if total ~= 0 and redis.call('HINCRBY', key .. '.n', 'n', total) <= 0 then redis.call('HDEL', key .. '.n', 'n') end
end

-- The call's count changes not written yet: ready key -> { list (entries queued, in order),
-- at = { entry -> time, nil once taken out again or counted }, by = { time -> change } }.
local function ag_flush()
  for key, b in pairs(CALL.ag) do
    local by = b.by
    for _, e in ipairs(b.list) do
      local at = b.at[e]
      if at then
        b.at[e] = nil
        by[at] = (by[at] or 0) + 1
      end
    end
    ag_count(key, by)
  end
end

local function ag_buf(key)
  local buf = CALL.ag
  if not buf then
    buf = {}
    CALL.ag = buf
    CALL.flush = ag_flush
  end
  local b = buf[key]
  if not b then
    b = { list = {}, at = {}, by = {} }
    buf[key] = b
  end
  return b
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

-- Entries `dagId|node` of one tenant and agent became claimable at `at`: their HSET wrote
-- `l` = `at` (a string, the call's clock).
local function ag_ready(tenant, agent, at, entries)
  local b = ag_buf(ag_key(tenant, agent, ':ready'))
  local list, ats = b.list, b.at
  for _, e in ipairs(entries) do
    list[#list + 1] = e
    ats[e] = at
  end
end

-- Entries leave the ready index; `rs[i]` is entry i's `l` as read (false when absent).
-- Those queued in this call are just forgotten, a counted one leaves its time's count, any
-- other can only be in the zset of nodes an earlier version wrote.
local function ag_unready(key, entries, rs)
  local b = ag_buf(key)
  local ats, by, old = b.at, b.by, nil
  for i, e in ipairs(entries) do
    local r = rs[i]
    if ats[e] then
      ats[e] = nil
    elseif r and r ~= '' and not string.find(r, '|', 1, true) then
      by[r] = (by[r] or 0) - 1
    else
      old = old or {}
      old[#old + 1] = e
    end
  end
  if old then ag_chunked('ZREM', key, old, 1) end
end

-- Claimed: `entries` leave ready (`rs` their `l`), `leases` (exp, entry, ...) are running.
local function ag_claimed(tenant, agent, entries, rs, leases)
  if #entries == 0 then return end
  ag_unready(ag_key(tenant, agent, ':ready'), entries, rs)
  ag_chunked('ZADD', ag_key(tenant, agent, ':running'), leases, 2)
end

-- A running attempt's lease now expires at `exp` (a heartbeat).
local function ag_lease(run, node, agent, exp)
  redis.call('ZADD', ag_key(run.tenant, agent, ':running'), exp, run.id .. '|' .. node)
end

-- A node left status `s` (ready or running; other statuses are in no index); `r` is its
-- `l` as read, for a ready node.
local function ag_left(run, node, s, agent, r)
  if not agent then return end
  if s == 'ready' then
    ag_unready(ag_key(run.tenant, agent, ':ready'), { run.id .. '|' .. node }, { r or false })
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

-- agent_signals: the scaling signals of a tenant's agents on this shard (GET /v1/agents).
-- KEYS: agents inflight
-- ARGV[1] JSON { tenant, agents?: [name] (absent: every agent with ready or running work
--   here), withinMs, now? }.
-- Returns { now, agents: [[agent, ready, oldestReadyAt | false, running, expiring]] }:
-- claimable ready nodes, when the oldest of them became ready, running attempts, and those
-- whose lease expires before now + withinMs (expired ones the reconcile has not retried yet
-- included). Cost O(log n) per agent (HGET, ZCARD, ZRANGE 0 0, ZCOUNT): never a scan of runs or
-- nodes. Listing drops agents with neither from the tenant's set once the tenant has no run
-- in flight on the shard (inflight): before that, one may still have pending nodes.
--@include agents
local a = begin(K, ARGV)
local at = tonumber(clock(a))
local names = a.agents
local listing = not names
local idle = false
if listing then
  names = redis.call('SMEMBERS', K.agents .. a.tenant)
  idle = (tonumber(redis.call('HGET', K.inflight, a.tenant)) or 0) < 1
end
local out = {}
for _, agent in ipairs(names) do
  local rk, xk = ag_key(a.tenant, agent, ':ready'), ag_key(a.tenant, agent, ':running')
  -- Ready: the counts by ready time, plus any node zset an earlier version wrote (includes/agents.lua).
  local old = redis.call('ZCARD', rk)
  local ready = old + (tonumber(redis.call('HGET', rk .. '.n', 'n')) or 0)
  local running = redis.call('ZCARD', xk)
  if ready == 0 and running == 0 then
    if idle then redis.call('SREM', K.agents .. a.tenant, agent) end
  else
    local oldest = false
    if ready > old then oldest = tonumber(redis.call('ZRANGE', rk .. '.at', 0, 0, 'WITHSCORES')[2]) end
    if old > 0 then
      local o = tonumber(redis.call('ZRANGE', rk, 0, 0, 'WITHSCORES')[2])
      if not oldest or o < oldest then oldest = o end
    end
    local expiring = 0
    if running > 0 then expiring = redis.call('ZCOUNT', xk, '-inf', at + a.withinMs) end
    out[#out + 1] = { agent, ready, oldest, running, expiring }
  end
end
if #out == 0 then return reply('{"now":' .. string.format('%d', at) .. ',"agents":[]}') end
return reply({ now = at, agents = out })

-- Node transitions shared by submit, claim, complete, fail, reconcile and cancel.
--@include core

local function make_ready(run, node, from, at, by)
  set_status(run, node, from, 'ready')
  local agent = redis.call('HGET', run.k .. 'agent', node)
  local attempt = tonumber(redis.call('HGET', run.k .. 'attempt', node)) or 0
  redis.call('LPUSH', ready_queue(run.tenant, agent), run.id .. '|' .. node)
  append_event(run, 'node.ready', node, attempt, by, at, from, nil)
  outbox(run, 'NodeReady', node, agent, attempt, at)
end

-- policy field: "maxAttempts,backoffMs,maxBackoffMs,timeoutMs" (per node, else the run's).
local function policy_of(run, node)
  local p = redis.call('HGET', run.k .. 'policy', node) or redis.call('HGET', run.meta, 'policy')
  local v = split(p, ',')
  return tonumber(v[1]) or 1, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0
end

-- lease field: "token|expiresAt|workerId|deadline"
local function lease_of(run, node)
  local l = redis.call('HGET', run.k .. 'lease', node)
  if not l then return nil end
  local token, exp, worker, deadline = string.match(l, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  return { token = token, exp = tonumber(exp), worker = worker, deadline = tonumber(deadline) }
end

local function start_attempt(run, node, lease_ms, worker, rand, at)
  local attempt = redis.call('HINCRBY', run.k .. 'attempt', node, 1)
  local token = attempt .. '.' .. rand
  local _, _, _, timeout = policy_of(run, node)
  local deadline = 0
  local exp = at + lease_ms
  if timeout > 0 then
    deadline = at + timeout
    if deadline < exp then exp = deadline end
  end
  redis.call('HSET', run.k .. 'lease', node, token .. '|' .. exp .. '|' .. worker .. '|' .. deadline)
  redis.call('ZADD', P .. 'leases', exp, member(run, node))
  set_status(run, node, 'ready', 'running')
  append_event(run, 'node.started', node, attempt, worker, at, 'ready',
    cjson.encode({ workerId = worker, leaseExpiresAt = exp }))
  return {
    dagId = run.id, nodeId = node, agent = redis.call('HGET', run.k .. 'agent', node),
    input = redis.call('HGET', run.k .. 'input', node) or false,
    attempt = attempt, leaseToken = token, leaseExpiresAt = exp,
  }
end

-- Pops ready entries of (tenant, agent) and starts up to `max` of them. Entries whose node
-- is no longer ready (cancelled, or claimed directly by push delivery) are dropped here.
local function claim_queue(tenant, agent, max, lease_ms, worker, rands, at)
  local q = ready_queue(tenant, agent)
  local tasks = {}
  while #tasks < max do
    local popped = redis.call('RPOP', q, max - #tasks)
    if not popped then break end
    for _, entry in ipairs(popped) do
      local id, node = string.match(entry, '^([^|]+)|(.+)$')
      local run = run_ctx(tenant, id)
      if redis.call('HGET', run.k .. 'status', node) == 'ready' then
        tasks[#tasks + 1] = start_attempt(run, node, lease_ms, worker, rands[#tasks + 1], at)
      end
    end
  end
  return tasks
end

local function cancel_open(run, reason, at, by)
  local st = redis.call('HGETALL', run.k .. 'status')
  local data = cjson.encode({ reason = reason })
  for i = 1, #st, 2 do
    local node, s = st[i], st[i + 1]
    if s == 'pending' or s == 'ready' or s == 'retrying' or s == 'running' then
      if s == 'running' then redis.call('ZREM', P .. 'leases', member(run, node)) end
      if s == 'retrying' then redis.call('ZREM', P .. 'retries', member(run, node)) end
      set_status(run, node, s, 'cancelled')
      append_event(run, 'node.cancelled', node, tonumber(redis.call('HGET', run.k .. 'attempt', node)) or 0, by, at, s, data)
    end
  end
end

-- onFailure=continue: the failed node's descendants can never run; independent branches go on.
local function skip_descendants(run, failed, at, by)
  local queue = split(redis.call('HGET', run.k .. 'children', failed), ',')
  local data = cjson.encode({ cause = failed })
  local i = 1
  while i <= #queue do
    local node = queue[i]
    i = i + 1
    if redis.call('HGET', run.k .. 'status', node) == 'pending' then
      set_status(run, node, 'pending', 'skipped')
      append_event(run, 'node.skipped', node, 0, by, at, 'pending', data)
      for _, c in ipairs(split(redis.call('HGET', run.k .. 'children', node), ',')) do queue[#queue + 1] = c end
    end
  end
end

-- Ends a running attempt that failed (reported, or its lease expired): retry with
-- exponential backoff and equal jitter while attempts remain, else fail the node and
-- apply the run's onFailure policy. `e` is the error as a JSON object string.
local function fail_attempt(run, node, attempt, e, retryable, at, by)
  redis.call('ZREM', P .. 'leases', member(run, node))
  redis.call('HSET', run.k .. 'error', node, e)
  local max_attempts, backoff, max_backoff = policy_of(run, node)
  if retryable and attempt < max_attempts then
    local delay = backoff * 2 ^ (attempt - 1)
    if max_backoff > 0 and delay > max_backoff then delay = max_backoff end
    delay = math.floor(delay / 2 + math.random() * delay / 2)
    local due = at + delay
    set_status(run, node, 'running', 'retrying')
    append_event(run, 'node.retrying', node, attempt, by, at, 'running', '{"retryAt":' .. due .. ',"error":' .. e .. '}')
    if delay <= 0 then
      make_ready(run, node, 'retrying', at, by)
    else
      redis.call('ZADD', P .. 'retries', due, member(run, node))
    end
    return 'retrying', due
  end
  set_status(run, node, 'running', 'failed')
  append_event(run, 'node.failed', node, attempt, by, at, 'running', '{"error":' .. e .. '}')
  outbox(run, 'NodeFailed', node, redis.call('HGET', run.k .. 'agent', node), attempt, at)
  if redis.call('HGET', run.meta, 'onFailure') == 'continue' then
    skip_descendants(run, node, at, by)
  else
    cancel_open(run, 'fail-fast: node ' .. node .. ' failed', at, by)
  end
  maybe_finish(run, at, by)
  return 'failed', nil
end

-- Housekeeping any claim or reconcile does for a shard: due retries become ready and
-- expired leases are failed as retryable. Cost O(due + expired), bounded by `limit`.
local function sweep_shard(at, limit)
  local due = redis.call('ZRANGEBYSCORE', P .. 'retries', '-inf', at, 'LIMIT', 0, limit)
  for _, m in ipairs(due) do
    redis.call('ZREM', P .. 'retries', m)
    local tenant, id, node = parse_member(m)
    local run = run_ctx(tenant, id)
    if redis.call('HGET', run.k .. 'status', node) == 'retrying' then
      make_ready(run, node, 'retrying', at, 'reconcile')
    end
  end
  local expired = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', at, 'LIMIT', 0, limit)
  for _, m in ipairs(expired) do
    local tenant, id, node = parse_member(m)
    local run = run_ctx(tenant, id)
    if redis.call('HGET', run.k .. 'status', node) == 'running' then
      local attempt = tonumber(redis.call('HGET', run.k .. 'attempt', node)) or 1
      fail_attempt(run, node, attempt, '{"message":"lease expired","code":"lease_expired"}', true, at, 'reconcile')
    else
      redis.call('ZREM', P .. 'leases', m)
    end
  end
  return #due, #expired
end

-- Node transitions shared by submit, claim, complete, fail, reconcile and cancel.
--@include core
--@include wait
--@include agents

-- `pushes`, when given, collects ready-queue entries per queue for push_ready (one LPUSH
-- per queue and batch instead of one per node); the caller must flush before it claims.
-- A list remembers its tenant, agent and time for the scaling index (includes/agents.lua).
local function queue_later(pushes, tenant, agent, entry, at)
  local q = ready_queue(tenant, agent)
  local list = pushes[q]
  if not list then
    list = { tenant = tenant, agent = agent, at = at }
    pushes[q] = list
  end
  list[#list + 1] = entry
end

-- A node whose status is `ready` is queued and announced; a paused run's node is neither:
-- resume does both. `data` (JSON) goes with the node.ready event. Called by make_ready, and
-- by an addition, which writes `ready` with the new node's other fields (one HSET, not two).
local function announce_ready(run, node, from, agent, attempt, at, by, pushes, data)
  if is_paused(run) then
    append_event(run, 'node.ready', node, attempt, by, at, from, data)
    return true
  end
  local entry = run.id .. '|' .. node
  if pushes then
    queue_later(pushes, run.tenant, agent, entry, at)
  else
    redis.call('LPUSH', ready_queue(run.tenant, agent), entry)
    ag_ready(run.tenant, agent, at, { entry })
  end
  append_event(run, 'node.ready', node, attempt, by, at, from, data)
  outbox(run, 'NodeReady', node, agent, attempt, at)
  return true
end

-- What `l` of a node made ready holds (it has no lease while ready): the time its agent's
-- scaling index counts it under (includes/agents.lua), '' while its run is paused (resume
-- writes the time). Written by the HSET that makes the node ready.
local function ready_mark(run, at) return is_paused(run) and '' or at end

-- A node without an agent is a wait node: its deps met, it starts waiting instead (and
-- this returns false).
local function make_ready(run, node, from, agent, attempt, at, by, pushes, data)
  if not agent then
    begin_wait(run, node, from, attempt, at, by, nil)
    return false
  end
  set_status(run, node, 'ready', { 'l', ready_mark(run, at) })
  return announce_ready(run, node, from, agent, attempt, at, by, pushes, data)
end

-- Chunks keep unpack far below Lua's C stack limit.
local CHUNK = 1000
local function call_chunked(cmd, key, list)
  for i = 1, #list, CHUNK do
    redis.call(cmd, key, unpack(list, i, math.min(i + CHUNK - 1, #list)))
  end
end

-- LPUSH of many values pushes them in order, as one LPUSH per node would.
local function push_ready(pushes)
  for q, list in pairs(pushes) do
    call_chunked('LPUSH', q, list)
    ag_ready(list.tenant, list.agent, list.at, list)
  end
end

local function policy_of(run, p)
  local v = split(p or redis.call('HGET', run.meta, 'policy'), ',')
  return tonumber(v[1]) or 1, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0
end

-- Fencing, as a reply table: a report whose token is not the node's live lease.
local function stale_lease(node, s, attempt)
  return failure('conflict', 'lease token is not the live lease of node ' .. node .. ' (node is ' .. s .. ', attempt ' .. attempt .. ')',
    { current = { status = s, attempt = attempt } })
end

-- A node's lease field `l` is "token|expiresAt|worker|deadline" while its attempt runs;
-- once the attempt succeeded only the token stays (what a repeated report is checked by).
local function parse_lease(l)
  local token, exp, worker, deadline = string.match(l, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  return { token = token, exp = tonumber(exp), worker = worker, deadline = tonumber(deadline) }
end

-- Whether `l` (an HMGET of `l`: false when absent) is the lease of `token` (exactly its
-- first part: a token holding '|' is none).
local function lease_of(l, token)
  if not l or string.find(token, '|', 1, true) then return false end
  return l == token or string.sub(l, 1, #token + 1) == token .. '|'
end

-- What a succeeded attempt keeps of its token in `l`: the attempt number and 4 characters
-- (`3.k2Jq`, not 18), enough to tell its repeated completion apart. A stale token is never
-- taken for it: attempt numbers only grow, so another attempt's token differs before the dot.
local function done_token(token)
  local dot = string.find(token, '.', 1, true)
  if not dot then return token end
  return string.sub(token, 1, dot + 4)
end

-- Whether `token` is the one a succeeded attempt kept in `l`: whole (written before
-- done_token) or its start. A token holding '|' is none.
local function done_by(l, token)
  if not l or #l < 3 or string.find(token, '|', 1, true) then return false end
  return string.sub(token, 1, #l) == l
end

-- The one fencing check, for every report on an attempt (complete, fail, heartbeat,
-- extend, release, suspend): the node runs and `token` is its live lease. Returns the
-- lease, or nil and the conflict to reply (a stale token, or a node not running).
local function check_lease(node, s, l, attempt, token)
  if s ~= 'running' or not lease_of(l, token) then return nil, stale_lease(node, s, attempt) end
  return parse_lease(l)
end

-- Starts an attempt of a ready node. `n` = HMGET of { a, p, i, sg, l } already read by the caller
-- (`l`: its time in the scaling index until the lease replaces it; read only without
-- `leases`: a batch hands ag_claimed the times itself).
-- `leases`, when given, collects score/member pairs for one ZADD per batch (claim_queue);
-- without it the lease index is written at once. Returns the Task as a positional array
-- { dagId, nodeId, agent, input|false, attempt, leaseToken, leaseExpiresAt, signal|false, traceparent? }
-- (smaller to encode than a table with named keys; engine/engine.ts names the fields). The
-- signal is the one that resumed a suspended agent: its next attempts build on it.
-- The attempt and lease expiry go into the task as decimal strings (engine/scripts.ts
-- reads them with Number): a Lua number is formatted as %.14g wherever it is concatenated,
-- sent or encoded, glibc's slow float path, so each is formatted once with '%d'.
local function start_attempt(run, node, agent, n, lease_ms, worker, rand, at, leases)
  local attempt = string.format('%d', (tonumber(n[1]) or 0) + 1)
  local token = attempt .. '.' .. rand
  local deadline = 0
  local exp = at + lease_ms
  if n[2] then
    local _, _, _, timeout = policy_of(run, n[2])
    if timeout > 0 then
      deadline = at + timeout
      if deadline < exp then exp = deadline end
    end
  end
  local exps = string.format('%d', exp)
  set_status(run, node, 'running', { 'a', attempt, 'l', token .. '|' .. exps .. '|' .. worker .. '|' .. string.format('%d', deadline) })
  if leases then
    local i = leases.n
    leases[i + 1] = exps
    leases[i + 2] = member(run, node)
    leases.n = i + 2
  else
    redis.call('ZADD', K.leases, exps, member(run, node))
    ag_claimed(run.tenant, agent, { run.id .. '|' .. node }, { n[5] or false }, { exps, run.id .. '|' .. node })
  end
  -- Its data { workerId, leaseExpiresAt } is packed as the lease's length (includes/call.lua).
  append_event(run, 'node.started', node, attempt, worker, at, 'ready', nil, string.format('%d', exp - at))
  return { run.id, node, agent, n[3], attempt, token, exps, n[4], trace_of(run) }
end

-- Pops ready entries of (tenant, agent) and starts up to `max` of them. Entries whose node
-- is no longer ready (cancelled, or claimed directly by push delivery) are dropped here.
local function claim_queue(tenant, agent, max, lease_ms, worker, rands, at)
  local q = ready_queue(tenant, agent)
  local tasks, nt = {}, 0
  local leases = { n = 0 }
  local taken, rs, running = {}, {}, {}
  while nt < max do
    local popped = redis.call('RPOP', q, max - nt)
    if not popped then break end
    for _, entry in ipairs(popped) do
      local id, node = string.match(entry, '^([^|]+)|(.+)$')
      local run = run_ctx(tenant, id)
      -- A paused run's entries are dropped: resume queues its ready nodes again.
      local n = redis.call('HMGET', run.n .. node, 's', 'a', 'p', 'i', 'sg', 'l')
      if n[1] == 'ready' and not is_paused(run) then
        local task = start_attempt(run, node, agent, { n[2], n[3], n[4], n[5] }, lease_ms, worker, rands[nt + 1], at, leases)
        nt = nt + 1
        tasks[nt] = task
        taken[nt] = entry
        rs[nt] = n[6]
        running[2 * nt - 1] = task[7]
        running[2 * nt] = entry
      end
    end
  end
  -- One ZADD for the batch; unpack stays far below Lua's stack limit (max <= 1000 tasks).
  if nt > 0 then redis.call('ZADD', K.leases, unpack(leases, 1, leases.n)) end
  ag_claimed(tenant, agent, taken, rs, running)
  return tasks
end

local OPEN = { pending = true, ready = true, retrying = true, running = true, waiting = true }

local function cancel_open(run, reason, at, by)
  local data = cjson.encode({ reason = reason })
  for _, node in ipairs(split(redis.call('GET', run.k .. 'order'), ',')) do
    local n = redis.call('HMGET', run.n .. node, 's', 'a', 'g', 'l')
    local s = n[1]
    if OPEN[s] then
      ag_left(run, node, s, n[3], n[4])
      if s == 'running' then redis.call('ZREM', K.leases, member(run, node)) end
      if s == 'retrying' then redis.call('ZREM', K.retries, member(run, node)) end
      if s == 'waiting' then clear_wait(run, node) end
      set_status(run, node, 'cancelled')
      append_event(run, 'node.cancelled', node, tonumber(n[2]) or 0, by, at, s, data)
    end
  end
end

-- onFailure=continue: the failed node's descendants can never run; independent branches go on.
-- A child with a join (`j` successes of its deps needed) spends one tolerated failure (`q`)
-- and waits on while its join can still be met; a join that no longer can is skipped, or
-- fails the run when its node (or the run) says fail-fast. Returns meta.remaining after the
-- last skip (nil when nothing was skipped), whether every direct child absorbed the
-- failure, and the node whose unmet join fails the run (nil if none).
local function skip_descendants(run, failed, children, at, by)
  local queue = split(children, ',')
  local direct = #queue
  local absorbed = direct > 0
  local data = cjson.encode({ cause = failed })
  local remaining = nil
  local i = 1
  while i <= #queue do
    local node = queue[i]
    local n = redis.call('HMGET', run.n .. node, 's', 'c', 'a', 'j', 'f')
    local keep = n[4] and redis.call('HINCRBY', run.n .. node, 'q', -1) >= 0
    if not keep then
      if i <= direct then absorbed = false end
      if n[4] and n[1] == 'pending' and (n[5] or redis.call('HGET', run.meta, 'onFailure')) == 'fail-fast' then
        return remaining, false, node
      end
      if n[1] == 'pending' then
        remaining = set_status(run, node, 'skipped')
        append_event(run, 'node.skipped', node, n[3] or 0, by, at, 'pending', data)
        for _, c in ipairs(split(n[2], ',')) do queue[#queue + 1] = c end
      end
    end
    i = i + 1
  end
  return remaining, absorbed, nil
end

-- A node fails for good (an attempt out of retries, a rejected or timed-out wait): its
-- onFailure (`f`, over the run's) applies. `data` (JSON) replaces the event's { error }.
-- Returns the run's status.
local function fail_node(run, node, attempt, e, at, by, from, agent, children, on_failure, data)
  local remaining = set_status(run, node, 'failed', { 'e', e })
  append_event(run, 'node.failed', node, attempt, by, at, from, data or ('{"error":' .. e .. '}'))
  outbox(run, 'NodeFailed', node, agent, attempt, at)
  -- A failure every child absorbed (joins that can still be met) is tolerated (`t`): it
  -- does not fail the run.
  local policy = on_failure or redis.call('HGET', run.meta, 'onFailure')
  local unmet = nil
  if policy == 'continue' then
    local left, absorbed
    left, absorbed, unmet = skip_descendants(run, node, children, at, by)
    remaining = left or remaining
    if absorbed then
      redis.call('HSET', run.n .. node, 't', 1)
      redis.call('HINCRBY', run.meta, 'tolerated', 1)
    end
  end
  if unmet or policy ~= 'continue' then
    cancel_open(run, unmet and ('fail-fast: the join of node ' .. unmet .. ' can no longer be met') or ('fail-fast: node ' .. node .. ' failed'), at, by)
    remaining = remaining_of(run)
  end
  return maybe_finish(run, remaining, at, by)
end

-- A node succeeded: children whose last dep (or last needed dep of a join) this was are
-- released (ready, or waiting for a wait node). Returns the ones that became ready.
local function release_children(run, children, at, pushes)
  local ready = {}
  for _, child in ipairs(split(children, ',')) do
    local ck = run.n .. child
    -- Strings, not numbers: a number sent or concatenated is formatted with %.14g.
    if redis.call('HINCRBY', ck, 'w', '-1') == 0 then
      local c = redis.call('HMGET', ck, 's', 'g', 'a')
      if c[1] == 'pending' and make_ready(run, child, 'pending', c[2], c[3] or '0', at, 'engine', pushes) then
        ready[#ready + 1] = child
      end
    end
  end
  return ready
end

-- Ends a running attempt that failed (reported, or its lease expired): retry with
-- exponential backoff and equal jitter while attempts remain, else fail the node and
-- apply the run's onFailure policy. `e` is the error as a JSON object string.
local function fail_attempt(run, node, attempt, e, retryable, at, by)
  redis.call('ZREM', K.leases, member(run, node))
  local n = redis.call('HMGET', run.n .. node, 'p', 'g', 'c', 'b', 'f')
  ag_left(run, node, 'running', n[2])
  local max_attempts, backoff, max_backoff = policy_of(run, n[1])
  -- `b`: attempts made before a redrive/rewind; the retry budget counts from there.
  local tries = attempt - (tonumber(n[4]) or 0)
  if retryable and tries < max_attempts then
    local delay = backoff * 2 ^ (tries - 1)
    if max_backoff > 0 and delay > max_backoff then delay = max_backoff end
    delay = math.floor(delay / 2 + math.random() * delay / 2)
    local due = at + delay
    set_status(run, node, 'retrying', { 'e', e })
    append_event(run, 'node.retrying', node, attempt, by, at, 'running', '{"retryAt":' .. due .. ',"error":' .. e .. '}')
    if delay <= 0 then
      make_ready(run, node, 'retrying', n[2], attempt, at, by)
    else
      redis.call('ZADD', K.retries, due, member(run, node))
    end
    return 'retrying', due
  end
  fail_node(run, node, attempt, e, at, by, 'running', n[2], n[3], n[5])
  return 'failed', nil
end

-- Housekeeping any claim or reconcile does for a shard: due retries become ready and
-- expired leases are failed as retryable. Cost O(due + expired), bounded by `limit`.
local function sweep_shard(at, limit)
  local due = redis.call('ZRANGEBYSCORE', K.retries, '-inf', at, 'LIMIT', 0, limit)
  for _, m in ipairs(due) do
    redis.call('ZREM', K.retries, m)
    local tenant, id, node = parse_member(m)
    local run = run_ctx(tenant, id)
    local n = redis.call('HMGET', run.n .. node, 's', 'g', 'a')
    if n[1] == 'retrying' then
      make_ready(run, node, 'retrying', n[2], tonumber(n[3]) or 0, at, 'reconcile')
    end
  end
  local expired = redis.call('ZRANGEBYSCORE', K.leases, '-inf', at, 'LIMIT', 0, limit)
  for _, m in ipairs(expired) do
    local tenant, id, node = parse_member(m)
    local run = run_ctx(tenant, id)
    local n = redis.call('HMGET', run.n .. node, 's', 'a', 'g')
    if n[1] == 'running' then
      -- The lost worker's token is void: a late report must conflict, not pass as a duplicate.
      -- (Before the failure: a retry due at once makes the node ready, `l` its ready time.)
      redis.call('HDEL', run.n .. node, 'l')
      fail_attempt(run, node, tonumber(n[2]) or 1, '{"message":"lease expired","code":"lease_expired"}', true, at, 'reconcile')
    else
      redis.call('ZREM', K.leases, m)
      ag_left(run, node, 'running', n[3])
    end
  end
  return #due, #expired
end

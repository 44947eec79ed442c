-- How a wait ends: a signal (by node, by token, by key) or its timeout. Used by signal,
-- signal_key and reconcile. Field names: includes/wait.lua.
--@include node

-- `sig` = { via, by?, signalId?, output? | error? } (output and error raw JSON). Returns the
-- record kept in `sg` (with the payload) and the one the log shows (who, how, when only).
local function signal_records(sig, at)
  local parts = { '"via":' .. cjson.encode(sig.via), '"at":' .. at }
  if sig.by then parts[#parts + 1] = '"by":' .. cjson.encode(sig.by) end
  if sig.signalId then parts[#parts + 1] = '"signalId":' .. cjson.encode(sig.signalId) end
  local seen = '{' .. table.concat(parts, ',') .. '}'
  if sig.error then
    parts[#parts + 1] = '"error":' .. sig.error
  else
    parts[#parts + 1] = '"output":' .. (sig.output or 'null')
  end
  return '{' .. table.concat(parts, ',') .. '}', seen
end

-- Ends the wait of a waiting node (the caller checked it waits). An error fails the node
-- (no retry; the run's onFailure applies). An output succeeds a wait node, or makes a
-- suspended agent ready again, its next attempt carrying the signal (`task.signal`).
-- Returns the node's new status and the run's.
local function end_wait(run, node, sig, at, by)
  local k = run.n .. node
  local n = redis.call('HMGET', k, 'a', 'g', 'c', 'su', 'f')
  local attempt = tonumber(n[1]) or 0
  clear_wait(run, node)
  local kept, seen = signal_records(sig, at)
  redis.call('HSET', k, 'sg', kept, 'si', sig.signalId or '')
  if n[4] then redis.call('HDEL', k, 'su') end
  if sig.error then
    local status = fail_node(run, node, attempt, sig.error, at, by, 'waiting', n[2], n[3], n[5],
      '{"error":' .. sig.error .. ',"signal":' .. seen .. '}')
    return 'failed', status
  end
  if n[4] then
    make_ready(run, node, 'waiting', n[2], attempt, at, by, nil, '{"signal":' .. seen .. '}')
    return 'ready', redis.call('HGET', run.meta, 'status')
  end
  local remaining = set_status(run, node, 'succeeded', { 'o', sig.output or 'null' })
  append_event(run, 'node.succeeded', node, attempt, by, at, 'waiting', '{"signal":' .. seen .. '}')
  outbox(run, 'NodeSucceeded', node, nil, attempt, at)
  release_children(run, n[3], at, nil)
  return 'succeeded', maybe_finish(run, remaining, at, 'engine')
end

-- A signal to one node. `gen` (from a token) must be the node's current wait. Returns a
-- reply table: { status, runStatus, duplicate } or { err, message, current }.
local function signal_node(run, node, sig, gen, at)
  local n = redis.call('HMGET', run.n .. node, 's', 'wg', 'si', 'a')
  local s = n[1]
  if not s then return node_missing(run, node) end
  local wg = tonumber(n[2]) or 0
  if s == 'waiting' and (not gen or gen == wg) then
    local status, run_status = end_wait(run, node, sig, at, sig.by or sig.via)
    if run_status == 'running' and is_paused(run) then run_status = 'paused' end
    return { status = status, runStatus = run_status, duplicate = false }
  end
  -- The same signal again (same signalId) after it ended this wait: a duplicate, no change.
  if sig.signalId and n[3] == sig.signalId and (not gen or wg == gen + 1) then
    return { status = s, runStatus = redis.call('HGET', run.meta, 'status'), duplicate = true }
  end
  if gen then return { err = 'not_found', message = 'no such signal' } end
  return { err = 'conflict', message = 'node ' .. node .. ' is ' .. s .. ', not waiting for a signal',
    current = { status = s, attempt = tonumber(n[4]) or 0, runStatus = redis.call('HGET', run.meta, 'status') } }
end

-- Due waits time out: onTimeout=fail fails the node, succeed ends it with its default output.
-- Cost O(due): a range of the `waits` index, bounded by `limit`.
local function sweep_waits(at, limit)
  local due = redis.call('ZRANGEBYSCORE', K.waits, '-inf', at, 'LIMIT', 0, limit)
  for _, m in ipairs(due) do
    redis.call('ZREM', K.waits, m)
    local tenant, id, node = parse_member(m)
    local run = run_ctx(tenant, id)
    local n = redis.call('HMGET', run.n .. node, 's', 'wd', 'W', 'wo')
    local deadline = tonumber(n[2]) or 0
    if n[1] == 'waiting' and deadline > 0 and deadline <= tonumber(at) then
      local w = parse_wait(n[3])
      local sig = { via = 'timeout' }
      if w.onTimeout == 'succeed' then
        sig.output = n[4] or 'null'
      else
        sig.error = '{"message":"no signal within ' .. w.timeout .. ' ms: the wait timed out","code":"wait_timeout"}'
      end
      end_wait(run, node, sig, at, 'reconcile')
    end
  end
  return #due
end

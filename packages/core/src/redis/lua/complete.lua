-- complete: record nodes' outputs and release children whose deps have all succeeded.
-- A batch of completions of one tenant on one shard runs in one script: one round trip.
-- KEYS: leases finished outbox queues shard_runs waits wait_keys inflight agents runs*
-- runs*: the run key of every run the items name; item.r is its run's position in it.
-- ARGV[1] JSON { tenant, items: [{ r, dagId, nodeId, token, output (JSON
--   string), actor?, state?: [{ key, mode: create|match, expected?, json }] }], seed, now?,
--   next?: { agent, max, leaseMs, workerId, rands } }; an item may carry `add` (nodes and
--   deps the completion adds, see includes/grow.lua) and `digest` (of that addition).
-- `state`: run-scoped shared-state writes applied with the completion, both or neither:
-- one stale version rejects the whole completion.
-- Returns { results: [[duplicate, ready: [id], runStatus] | a failure (includes/call.lua)],
--   next?: [Task] }: each item succeeds or fails on its own (a result is positional: smaller
--   to encode than named keys; engine/scripts.ts names the fields).
-- Invariants: only the live lease completes (fencing); the same completion twice changes
-- nothing and says so; a child is released exactly once, by the last dep to succeed; an
-- addition is applied before the completed node's children are released, so a child that
-- now waits for new nodes cannot start before them.
--@include node
--@include state_entry
--@include grow
local a = begin(K, ARGV)
local at = clock(a)
-- Written once for the whole batch: ready-queue entries per queue, lease members to drop.
local pushes = {}
local done_leases = {}
local done_running = {}

local function complete(it)
  local run = run_at(K.runs[it.r], a.tenant, it.dagId)
  local node = it.nodeId
  local n = redis.call('HMGET', run.n .. node, 's', 'l', 'a', 'g', 'c')
  local s = n[1]
  if not s then return node_missing(run, node) end
  local attempt = tonumber(n[3]) or 0

  if s == 'succeeded' and done_by(n[2], it.token) then
    local o = redis.call('HMGET', run.n .. node, 'o', 'ad')
    if o[1] ~= it.output then
      return failure('conflict', 'node ' .. node .. ' already succeeded with a different output',
        { current = { status = s, attempt = attempt } })
    end
    if (o[2] or '') ~= (it.digest or '') then
      return { err = 'conflict', message = 'node ' .. node .. ' already succeeded with different additions',
        current = { status = s, attempt = attempt } }
    end
    return { true, {}, redis.call('HGET', run.meta, 'status') }
  end
  local lease, stale = check_lease(node, s, n[2], attempt, it.token)
  if not lease then return stale end

  local st, kids, new
  if it.add then
    local e
    e, st, kids, new = grow_check(run, it.add, { node = node, attempt = attempt })
    if e then return grow_error(e, 'add.') end
  end
  local writes = it.state or {}
  for _, w in ipairs(writes) do
    local c = state_check(run.k .. 'state:' .. w.key, w)
    if c then
      return failure('conflict', 'state ' .. w.key .. ': ' .. c.message .. '; the completion was not applied',
        { current = { status = s, attempt = attempt, state = { key = w.key, version = c.current.version, json = c.current.json ~= cjson.null and c.current.json or nil } } })
    end
  end
  local writer = { agent = n[4], run = run.id, node = node, attempt = attempt }
  for _, w in ipairs(writes) do
    state_apply(run.k .. 'state:' .. w.key, run.k .. 'state-history:' .. w.key,
      { json = w.json, op = 'complete', writer = writer, historyMax = 50, index = run.k .. 'state-keys', key = w.key }, tonumber(at))
  end

  done_leases[#done_leases + 1] = member(run, node)
  ag_ended(done_running, run, node, n[4])
  -- The lease keeps only the start of its token: enough to recognise this completion sent again.
  local remaining = set_status(run, node, 'succeeded', { 'o', it.output, 'l', done_token(it.token) })
  -- The attempt as HMGET read it: a string needs no number formatting (start_attempt).
  append_event(run, 'node.succeeded', node, n[3] or '0', it.actor or lease.worker, at, 'running', nil)
  outbox(run, 'NodeSucceeded', node, n[4], n[3] or '0', at)

  local ready = {}
  if it.add then
    st[node] = 'succeeded'
    local _, grown = grow_apply(run, it.add, { node = node, attempt = attempt }, st, kids, new, at, pushes)
    for _, id in ipairs(grown) do ready[#ready + 1] = id end
    redis.call('HSET', run.n .. node, 'ad', it.digest)
    remaining = remaining_of(run)
  end
  for _, child in ipairs(release_children(run, n[5], at, pushes)) do ready[#ready + 1] = child end
  return { false, ready, maybe_finish(run, remaining, at, 'engine') }
end

local results = {}
for i, it in ipairs(a.items) do results[i] = complete(it) end
push_ready(pushes)
if #done_leases > 0 then call_chunked('ZREM', K.leases, done_leases) end
ag_flush_ended(done_running)
local res = { results = results }
if a.next then
  math.randomseed(a.seed)
  local nx = a.next
  res.next = claim_queue(a.tenant, nx.agent, nx.max, nx.leaseMs, nx.workerId, nx.rands, at)
end
return reply(res)

-- Shared by every DAG script: run contexts, node status, run end.
--@include call
--
-- Keys of a run, all derived from its run key `<prefix>:{<prefix>:<s>}:run:<tenant>:<id>:`
-- (redis/keys.ts builds the same names): `meta` hash, `order` (node ids, comma-joined),
-- `events` stream, `state:<key>` / `state-history:<key>` / `state-keys` (shared state), and
-- one hash per node `n:<id>` whose fields are documented in docs/architecture.md
-- ("The node hash"). One hash per node keeps the hot path to one HMGET and one HSET per
-- transition.

local function split(s, sep)
  local out = {}
  if not s or s == '' then return out end
  for part in string.gmatch(s, '([^' .. sep .. ']+)') do out[#out + 1] = part end
  return out
end

-- One context per run and call: a batch touches the same few runs many times. `k` is the
-- run key, declared in KEYS (K.run, K.runs[i]) or, for a run reached through a shard index
-- (a ready queue, the lease or retry index), derived from the declared prefix K.shard_runs.
local function run_at(k, tenant, id)
  local run = CALL.runs[k]
  if run then return run end
  run = { tenant = tenant, id = id, k = k, meta = k .. 'meta', n = k .. 'n:' }
  CALL.runs[k] = run
  return run
end
-- Cached by tenant and id as well, so a claim of many entries of few runs builds each run
-- key once (a concatenation interns a new string).
local function run_ctx(tenant, id)
  local by_id = CALL.ctx[tenant]
  if not by_id then
    by_id = {}
    CALL.ctx[tenant] = by_id
  end
  local run = by_id[id]
  if not run then
    run = run_at(K.shard_runs .. tenant .. ':' .. id .. ':', tenant, id)
    by_id[id] = run
  end
  return run
end

-- Lease/retry index members name the run and node.
local function member(run, node) return run.tenant .. '|' .. run.id .. '|' .. node end
local function parse_member(m)
  local t, r, n = string.match(m, '^([^|]+)|([^|]+)|(.+)$')
  return t, r, n
end

local function ready_queue(tenant, agent) return K.queues .. tenant .. ':' .. agent end

-- Why a node's hash is missing, as a reply table: no such run, or no such node in it.
local function node_missing(run, node)
  if redis.call('EXISTS', run.meta) == 0 then return run_not_found(run.id) end
  return failure('not_found', 'node ' .. node .. ' not found in run ' .. run.id)
end

local TERMINAL = { succeeded = true, failed = true, skipped = true, cancelled = true }

-- meta.remaining (nodes not terminal yet), per run and call: the first change is an HINCRBY
-- whose reply is the count; later changes are counted here and written by flush_log with
-- one HINCRBY (includes/call.lua), so a batch of completions of one run costs two commands
-- for it, not one per node. Every reader and writer of `remaining` in a script goes
-- through these two.
local function remaining_add(run, d)
  if run.left == nil then
    run.left = redis.call('HINCRBY', run.meta, 'remaining', d)
    return run.left
  end
  if not run.dleft then
    run.dleft = 0
    CALL.left_runs[#CALL.left_runs + 1] = run
  end
  run.dleft = run.dleft + d
  run.left = run.left + d
  return run.left
end

local function remaining_of(run)
  if run.left == nil then run.left = tonumber(redis.call('HGET', run.meta, 'remaining')) or 0 end
  return run.left
end

-- The only writer of a node's status. `extra` are more field/value pairs for the same HSET.
-- Terminal moves count down meta.remaining; the run ends when it reaches 0.
local function set_status(run, node, to, extra)
  if extra then
    redis.call('HSET', run.n .. node, 's', to, unpack(extra))
  else
    redis.call('HSET', run.n .. node, 's', to)
  end
  if TERMINAL[to] then
    if to ~= 'succeeded' then redis.call('HINCRBY', run.meta, to, 1) end
    return remaining_add(run, -1)
  end
  return nil
end

local STATUSES = { 'pending', 'ready', 'running', 'succeeded', 'failed', 'retrying', 'skipped', 'cancelled', 'waiting' }

-- Once a run has ended every node is terminal, and meta counts the failed, cancelled and
-- skipped ones (set_status), so the rest succeeded: O(1). A running run is counted node by node.
local function counts_json(run, ended)
  local c = {}
  for _, s in ipairs(STATUSES) do c[s] = 0 end
  if ended then
    local m = redis.call('HMGET', run.meta, 'total', 'failed', 'cancelled', 'skipped')
    c.failed, c.cancelled, c.skipped = tonumber(m[2]) or 0, tonumber(m[3]) or 0, tonumber(m[4]) or 0
    c.succeeded = tonumber(m[1]) - c.failed - c.cancelled - c.skipped
  else
    for _, node in ipairs(split(redis.call('GET', run.k .. 'order'), ',')) do
      local s = redis.call('HGET', run.n .. node, 's')
      c[s] = c[s] + 1
    end
  end
  local parts = {}
  for i, s in ipairs(STATUSES) do parts[i] = '"' .. s .. '":' .. c[s] end
  return '{' .. table.concat(parts, ',') .. '}'
end

local DAG_EVENT = { succeeded = 'DagSucceeded', failed = 'DagFailed', cancelled = 'DagCancelled' }

-- The one place a run becomes terminal; callers check it is still running first.
local function finish(run, status, at, by)
  redis.call('HSET', run.meta, 'status', status, 'finishedAt', at)
  -- A run that ends while paused (its last attempts finished) is not paused any more.
  redis.call('HDEL', run.meta, 'pz')
  append_event(run, 'run.' .. status, nil, nil, by, at, nil, '{"counts":' .. counts_json(run, true) .. '}')
  outbox(run, DAG_EVENT[status], nil, nil, nil, at)
  redis.call('ZADD', K.finished, at, run.tenant .. '|' .. run.id)
  -- Runs in flight (submit.lua counts them up): below 1 (a run counted before the count
  -- existed) the tenant's field goes, so the count never drifts below zero.
  if redis.call('HINCRBY', K.inflight, run.tenant, -1) < 1 then redis.call('HDEL', K.inflight, run.tenant) end
end

-- Ends the run when every node is terminal (`remaining` as returned by set_status).
local function maybe_finish(run, remaining, at, by)
  if remaining == nil or remaining > 0 then return 'running' end
  local m = redis.call('HMGET', run.meta, 'status', 'failed', 'cancelled', 'tolerated')
  if m[1] ~= 'running' then return m[1] end
  local status = 'succeeded'
  -- Failures a join absorbed (`tolerated`) do not fail the run.
  if (tonumber(m[2]) or 0) > (tonumber(m[4]) or 0) then status = 'failed' elseif tonumber(m[3]) then status = 'cancelled' end
  finish(run, status, at, by)
  return status
end

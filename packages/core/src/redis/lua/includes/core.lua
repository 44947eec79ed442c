-- Shared by every DAG script: clock, keys, node status, event log, outbox, run end.
-- Mirrors packages/core/src/redis/keys.ts. KEYS[1] is always the shard prefix
-- `weft:{weft:<s>}:`; every key below derives from it, so a script stays in one slot.
--
-- Layout of a run (prefix run.k): `meta` hash (status, total, remaining, onFailure,
-- policy, createdAt, finishedAt...), `order` (node ids, comma-joined), `events` stream,
-- and one small hash per node `n:<id>` with fields:
--   s status, g agent, a attempt, w deps still waiting, d deps, c children (comma-joined),
--   p policy "maxAttempts,backoffMs,maxBackoffMs,timeoutMs", i input, o output, e error,
--   l lease "token|expiresAt|workerId|deadline", and for grown runs (includes/grow.lua):
--   ab added by "<node>|<attempt>" or "|<actor>", j join (successes needed; then `w` counts
--   successes still needed), q failures the join still tolerates, f the node's onFailure,
--   t 1 on a failure a join absorbed, ad digest of a completion's additions, x.<digest> the
--   lease token of an applied extension.
-- One hash per node keeps the hot path to one HMGET and one HSET per transition.
local P = KEYS[1]

-- Epoch ms as a decimal string: a script concatenates `at` into several entries, and
-- formatting a Lua number costs more than Lua coercing the string where it adds to it.
local function now_ms(args)
  if args.now then return string.format('%d', tonumber(args.now)) end
  local t = redis.call('TIME')
  return t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
end

local function split(s, sep)
  local out = {}
  if not s or s == '' then return out end
  for part in string.gmatch(s, '([^' .. sep .. ']+)') do out[#out + 1] = part end
  return out
end

-- One context per run and script call: a batch touches the same few runs many times.
local RUNS = {}
local function run_ctx(tenant, id)
  local key = tenant .. '|' .. id
  local run = RUNS[key]
  if run then return run end
  local k = P .. 'run:' .. tenant .. ':' .. id .. ':'
  run = { tenant = tenant, id = id, k = k, meta = k .. 'meta', n = k .. 'n:' }
  RUNS[key] = run
  return run
end

-- Lease/retry index members name the run and node.
local function member(run, node) return run.tenant .. '|' .. run.id .. '|' .. node end
local function parse_member(m)
  local t, r, n = string.match(m, '^([^|]+)|([^|]+)|(.+)$')
  return t, r, n
end

local function ready_queue(tenant, agent) return P .. 'ready:' .. tenant .. ':' .. agent end

local function err(code, message, current)
  return cjson.encode({ err = code, message = message, current = current })
end

-- Why a node's hash is missing, as a reply table: no such run, or no such node in it.
local function node_missing(run, node)
  if redis.call('EXISTS', run.meta) == 0 then return { err = 'not_found', message = 'run ' .. run.id .. ' not found' } end
  return { err = 'not_found', message = 'node ' .. node .. ' not found in run ' .. run.id }
end

-- Event log: a Redis Stream per run. Each event has a seq (1, 2, 3... per run), so a cursor
-- is just a number. An event is one packed field `e` = "type|node|attempt|from|actor|at"
-- (ids cannot contain '|'), followed by `d` (JSON) when it carries data. The events a
-- script call appends to one run go into one stream entry (in chunks of LOG_CHUNK) whose
-- id is `0-<seq of its last event>`: one XADD per run and call instead of one per event.
-- meta.seq counts the run's events. Buffered here, written by flush_log at the end of
-- the script (scripts.ts wraps every script that includes this file so it always runs).
local LOG_CHUNK = 500
local LOG = {}
local LOG_RUNS = {}
local function append_event(run, t, node, attempt, by, at, from, data)
  local l = LOG[run.k]
  if not l then
    l = {}
    LOG[run.k] = l
    LOG_RUNS[#LOG_RUNS + 1] = run
  end
  l[#l + 1] = t .. '|' .. (node or '') .. '|' .. (attempt or '') .. '|' .. (from or '') .. '|' .. by .. '|' .. at
  l[#l + 1] = data or false
end

-- Outbox: one Stream per shard, relayed to EventBridge and acked (XDEL) after PutEvents.
-- One packed field `e` per event: "type|tenant|dagId|node|agent|attempt|at"; a script
-- call's events share entries of up to OUT_CHUNK events.
local OUT_CHUNK = 100
local OUT = {}
local function outbox(run, t, node, agent, attempt, at)
  OUT[#OUT + 1] = 'e'
  OUT[#OUT + 1] = t .. '|' .. run.tenant .. '|' .. run.id .. '|' .. (node or '') .. '|' .. (agent or '') .. '|' .. (attempt or 0) .. '|' .. at
end

local function flush_run_log(run, l)
  local count = #l / 2
  local last = redis.call('HINCRBY', run.meta, 'seq', count)
  if last == count then
    -- A counter just created: a run whose log predates meta.seq continues after its top entry.
    local top = redis.call('XREVRANGE', run.k .. 'events', '+', '-', 'COUNT', 1)[1]
    if top then
      local seq = tonumber(string.match(top[1], '%d+$'))
      last = redis.call('HINCRBY', run.meta, 'seq', seq)
    end
  end
  local seq = last - count
  local f = {}
  for i = 1, #l, 2 do
    f[#f + 1] = 'e'
    f[#f + 1] = l[i]
    if l[i + 1] then
      f[#f + 1] = 'd'
      f[#f + 1] = l[i + 1]
    end
    seq = seq + 1
    if i + 1 == #l or (i + 1) % (2 * LOG_CHUNK) == 0 then
      redis.call('XADD', run.k .. 'events', '0-' .. seq, unpack(f))
      f = {}
    end
  end
end

local function flush_log()
  for _, run in ipairs(LOG_RUNS) do flush_run_log(run, LOG[run.k]) end
  LOG = {}
  LOG_RUNS = {}
  for i = 1, #OUT, 2 * OUT_CHUNK do
    redis.call('XADD', P .. 'outbox', '*', unpack(OUT, i, math.min(i + 2 * OUT_CHUNK - 1, #OUT)))
  end
  OUT = {}
end

local TERMINAL = { succeeded = true, failed = true, skipped = true, cancelled = true }

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
    return redis.call('HINCRBY', run.meta, 'remaining', -1)
  end
  return nil
end

local STATUSES = { 'pending', 'ready', 'running', 'succeeded', 'failed', 'retrying', 'skipped', 'cancelled' }

-- Once a run has ended every node is terminal, and meta counts the failed, cancelled and
-- skipped ones (set_status), so the rest succeeded: O(1). A running run, or one submitted
-- before meta counted skips (no `v`), is counted node by node.
local function counts_json(run, ended)
  local c = {}
  for _, s in ipairs(STATUSES) do c[s] = 0 end
  local m = ended and redis.call('HMGET', run.meta, 'v', 'total', 'failed', 'cancelled', 'skipped') or {}
  if m[1] then
    c.failed, c.cancelled, c.skipped = tonumber(m[3]) or 0, tonumber(m[4]) or 0, tonumber(m[5]) or 0
    c.succeeded = tonumber(m[2]) - c.failed - c.cancelled - c.skipped
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
  append_event(run, 'run.' .. status, nil, nil, by, at, nil, '{"counts":' .. counts_json(run, true) .. '}')
  outbox(run, DAG_EVENT[status], nil, nil, nil, at)
  redis.call('ZADD', P .. 'finished', at, run.tenant .. '|' .. run.id)
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

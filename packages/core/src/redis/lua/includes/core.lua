-- Shared by every DAG script: clock, keys, node status, event log, outbox, run end.
-- Mirrors packages/core/src/redis/keys.ts. KEYS[1] is always the shard prefix
-- `weft:{weft:<s>}:`; every key below derives from it, so a script stays in one slot.
--
-- Layout of a run (prefix run.k): `meta` hash (status, total, remaining, onFailure,
-- policy, createdAt, finishedAt...), `order` (node ids, comma-joined), `events` stream,
-- and one small hash per node `n:<id>` with fields:
--   s status, g agent, a attempt, w deps still waiting, d deps, c children (comma-joined),
--   p policy "maxAttempts,backoffMs,maxBackoffMs,timeoutMs", i input, o output, e error,
--   l lease "token|expiresAt|workerId|deadline".
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

local function run_ctx(tenant, id)
  local k = P .. 'run:' .. tenant .. ':' .. id .. ':'
  return { tenant = tenant, id = id, k = k, meta = k .. 'meta', n = k .. 'n:' }
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

-- Event log: a Redis Stream per run with ids 0-<seq> (Redis picks the next seq), so a
-- cursor is just a number. One packed field `e` = "type|node|attempt|from|actor|at" (ids
-- cannot contain '|'), plus `d` (JSON) when the event carries data: an entry costs one
-- listpack value instead of six.
local function append_event(run, t, node, attempt, by, at, from, data)
  local e = t .. '|' .. (node or '') .. '|' .. (attempt or '') .. '|' .. (from or '') .. '|' .. by .. '|' .. at
  if data then
    redis.call('XADD', run.k .. 'events', '0-*', 'e', e, 'd', data)
  else
    redis.call('XADD', run.k .. 'events', '0-*', 'e', e)
  end
end

-- Outbox: one Stream per shard, relayed to EventBridge and acked (XDEL) after PutEvents.
-- One packed field: "type|tenant|dagId|node|agent|attempt|at".
local function outbox(run, t, node, agent, attempt, at)
  redis.call('XADD', P .. 'outbox', '*', 'e',
    t .. '|' .. run.tenant .. '|' .. run.id .. '|' .. (node or '') .. '|' .. (agent or '') .. '|' .. (attempt or 0) .. '|' .. at)
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
    if to == 'failed' or to == 'cancelled' then redis.call('HINCRBY', run.meta, to, 1) end
    return redis.call('HINCRBY', run.meta, 'remaining', -1)
  end
  return nil
end

local STATUSES = { 'pending', 'ready', 'running', 'succeeded', 'failed', 'retrying', 'skipped', 'cancelled' }

-- O(nodes), once per run when it ends.
local function counts_json(run)
  local c = {}
  for _, s in ipairs(STATUSES) do c[s] = 0 end
  for _, node in ipairs(split(redis.call('GET', run.k .. 'order'), ',')) do
    local s = redis.call('HGET', run.n .. node, 's')
    c[s] = c[s] + 1
  end
  local parts = {}
  for i, s in ipairs(STATUSES) do parts[i] = '"' .. s .. '":' .. c[s] end
  return '{' .. table.concat(parts, ',') .. '}'
end

local DAG_EVENT = { succeeded = 'DagSucceeded', failed = 'DagFailed', cancelled = 'DagCancelled' }

-- The one place a run becomes terminal; callers check it is still running first.
local function finish(run, status, at, by)
  redis.call('HSET', run.meta, 'status', status, 'finishedAt', at)
  append_event(run, 'run.' .. status, nil, nil, by, at, nil, '{"counts":' .. counts_json(run) .. '}')
  outbox(run, DAG_EVENT[status], nil, nil, nil, at)
  redis.call('ZADD', P .. 'finished', at, run.tenant .. '|' .. run.id)
end

-- Ends the run when every node is terminal (`remaining` as returned by set_status).
local function maybe_finish(run, remaining, at, by)
  if remaining == nil or remaining > 0 then return 'running' end
  local m = redis.call('HMGET', run.meta, 'status', 'failed', 'cancelled')
  if m[1] ~= 'running' then return m[1] end
  local status = 'succeeded'
  if tonumber(m[2]) then status = 'failed' elseif tonumber(m[3]) then status = 'cancelled' end
  finish(run, status, at, by)
  return status
end

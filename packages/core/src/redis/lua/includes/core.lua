-- Shared by every DAG script: clock, run keys, status bookkeeping, event log, outbox.
-- Mirrors packages/core/src/redis/keys.ts. KEYS[1] is always the shard prefix
-- `weft:{weft:<s>}:`; every key below derives from it, so a script stays in one slot.
local P = KEYS[1]

local function now_ms(args)
  if args.now then return tonumber(args.now) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function split(s, sep)
  local out = {}
  if not s or s == '' then return out end
  for part in string.gmatch(s, '([^' .. sep .. ']+)') do out[#out + 1] = part end
  return out
end

-- A run's keys all start with run.k; `meta` holds status, counters and the event seq.
local function run_ctx(tenant, id)
  local k = P .. 'run:' .. tenant .. ':' .. id .. ':'
  return { tenant = tenant, id = id, k = k, meta = k .. 'meta' }
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

-- Event log: a Redis Stream per run with ids 0-<seq>, so a cursor is just a number.
local function append_event(run, t, node, attempt, by, at, from, data)
  local seq = redis.call('HINCRBY', run.meta, 'seq', 1)
  local f = { 't', t, 'by', by, 'at', at }
  if node then f[#f + 1] = 'n'; f[#f + 1] = node end
  if attempt then f[#f + 1] = 'a'; f[#f + 1] = attempt end
  if from then f[#f + 1] = 'f'; f[#f + 1] = from end
  if data then f[#f + 1] = 'd'; f[#f + 1] = data end
  redis.call('XADD', run.k .. 'events', '0-' .. seq, unpack(f))
  return seq
end

-- Outbox: one Stream per shard, relayed to EventBridge and acked (XDEL) after PutEvents.
local function outbox(run, t, node, agent, attempt, at)
  redis.call('XADD', P .. 'outbox', '*', 'type', t, 'tenant', run.tenant, 'dag', run.id,
    'node', node or '', 'agent', agent or '', 'attempt', attempt or 0, 'at', at)
end

local function set_status(run, node, from, to)
  redis.call('HSET', run.k .. 'status', node, to)
  redis.call('HINCRBY', run.meta, 'c:' .. from, -1)
  redis.call('HINCRBY', run.meta, 'c:' .. to, 1)
end

local STATUSES = { 'pending', 'ready', 'running', 'succeeded', 'failed', 'retrying', 'skipped', 'cancelled' }

local function counts_json(run)
  local fields = {}
  for i, s in ipairs(STATUSES) do fields[i] = 'c:' .. s end
  local v = redis.call('HMGET', run.meta, unpack(fields))
  local parts = {}
  for i, s in ipairs(STATUSES) do parts[i] = '"' .. s .. '":' .. (tonumber(v[i]) or 0) end
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

-- Finishes the run when every node is terminal; exactly once, guarded by meta.status.
local function maybe_finish(run, at, by)
  local m = redis.call('HMGET', run.meta, 'status', 'total', 'c:succeeded', 'c:failed', 'c:skipped', 'c:cancelled')
  if m[1] ~= 'running' then return m[1] end
  local failed = tonumber(m[4]) or 0
  local cancelled = tonumber(m[6]) or 0
  local done = (tonumber(m[3]) or 0) + failed + (tonumber(m[5]) or 0) + cancelled
  if done < tonumber(m[2]) then return 'running' end
  local status = 'succeeded'
  if failed > 0 then status = 'failed' elseif cancelled > 0 then status = 'cancelled' end
  finish(run, status, at, by)
  return status
end

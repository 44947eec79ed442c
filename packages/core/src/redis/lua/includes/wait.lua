-- Waiting for people and the world: wait nodes, suspended agents, paused runs.
--@include core
--
-- Node hash fields of a wait (see docs/architecture.md):
--   W  the wait as "timeoutMs|onTimeout|key" (timeoutMs 0 = none, key may be empty): a wait
--      node's spec from submit, or what a suspending agent asked for;
--   wo the default output of a timeout with onTimeout=succeed (raw JSON);
--   wi what to decide, when a suspending agent gave it (raw JSON); else the node's input;
--   wg the wait generation: grows when a wait begins and when it ends, so a signal token
--      (sealed with the generation) works for one wait only;
--   wd the deadline (epoch ms) of the current wait, 0 without a timeout;
--   su 1 while the waiting node is a suspended agent (a signal makes it ready again);
--   sg the signal that ended the last wait: JSON { via, by?, at, signalId?, output | error }.
-- Shard indexes: `waits` (zset of deadlines, drained by the reconcile in O(due)) and
-- `wk:<tenant>:<key>` (set of the nodes waiting on that key, for signals across runs).
-- A paused run (meta `pz` = when) hands out nothing; its ready nodes are queued on resume.

local function wait_key_index(tenant, key) return K.wait_keys .. tenant .. ':' .. key end

local function parse_wait(w)
  local t, o, k = string.match(w or '', '^([^|]*)|([^|]*)|(.*)$')
  return { timeout = tonumber(t) or 0, onTimeout = (o ~= '' and o) or 'fail', key = (k ~= '' and k) or nil }
end

-- Cached per run and script call: a batch asks for the same few runs many times.
local function is_paused(run)
  if run.paused == nil then run.paused = redis.call('HGET', run.meta, 'pz') ~= false end
  return run.paused
end

-- A node starts waiting: a wait node whose deps are met, or an agent that suspended.
-- The NodeWaiting outbox event carries the generation and deadline, from which the engine
-- seals the signal token on its way to the bus. Returns the generation and the deadline (0 = none).
local function begin_wait(run, node, from, attempt, at, by, agent)
  local k = run.n .. node
  local n = redis.call('HMGET', k, 'W', 'wi', 'i')
  local w = parse_wait(n[1])
  local gen = redis.call('HINCRBY', k, 'wg', 1)
  local deadline = 0
  if w.timeout > 0 then
    deadline = at + w.timeout
    redis.call('ZADD', K.waits, deadline, member(run, node))
  end
  if w.key then redis.call('SADD', wait_key_index(run.tenant, w.key), member(run, node)) end
  set_status(run, node, 'waiting', { 'wd', deadline })
  local data = '{"gen":' .. gen .. (deadline > 0 and (',"timeoutAt":' .. deadline .. ',"onTimeout":"' .. w.onTimeout .. '"') or '')
    .. (w.key and (',"key":' .. cjson.encode(w.key)) or '') .. ',"input":' .. (n[2] or n[3] or 'null') .. '}'
  append_event(run, 'node.waiting', node, attempt, by, at, from, data)
  outbox(run, 'NodeWaiting', node, agent, attempt, at, gen .. '|' .. deadline)
  return gen, deadline
end

-- The wait is over (signal, timeout, cancel, reset): out of the indexes, its tokens void.
local function clear_wait(run, node)
  local k = run.n .. node
  redis.call('ZREM', K.waits, member(run, node))
  local w = parse_wait(redis.call('HGET', k, 'W'))
  if w.key then redis.call('SREM', wait_key_index(run.tenant, w.key), member(run, node)) end
  redis.call('HINCRBY', k, 'wg', 1)
end

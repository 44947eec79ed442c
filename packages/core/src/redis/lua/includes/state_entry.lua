-- Shared state entries (docs/architecture.md, "Shared state"). One hash per key:
--   v   the value as the caller's raw JSON text (never re-encoded: cjson would turn [] into
--       {} and round big numbers); absent while the key is deleted
--   ver the version, an integer that only grows (a delete leaves a tombstone holding it, so
--       a re-created key never reuses a version a stale agent may still hold)
--   w   the last writer as JSON { agent, run, node, attempt }; at: epoch ms of the write
--   m, st  the machine the key is bound to and its current state (see state_transition)
-- History: a list per key, newest first, capped at ARGV.historyMax entries.
-- Run-scoped keys: writes need the run to exist (its `meta` hash), and every key name
-- written is added to the run's set `state-keys`, so releasing or archiving the run can
-- find them without a SCAN.
-- Every function takes key names as arguments, so a DAG script (a node's completion) can
-- apply the same checks and writes inside its own atomic step.
--@include call

local function state_read(vkey)
  local h = redis.call('HMGET', vkey, 'v', 'ver', 'w', 'at', 'm', 'st')
  return {
    json = h[1] or nil,
    ver = tonumber(h[2]) or 0,
    w = h[3] or nil,
    at = tonumber(h[4]),
    m = h[5] or nil,
    st = h[6] or nil,
  }
end

-- What a conflict reports as `current`: the raw value (null when absent) and its version.
local function state_current(cur)
  return { json = cur.json or cjson.null, version = cur.ver, machine = cur.m, state = cur.st }
end

-- A failed precondition: a conflict whose `reason` says which (version, exists, machine,
-- transition), with what the key holds now.
local function state_conflict(reason, message, cur, extra)
  local details = { reason = reason, current = state_current(cur) }
  if extra then for k, v in pairs(extra) do details[k] = v end end
  return failure('conflict', message, details)
end

-- The `state` field of a raw JSON value, or nil when it is not an object with a string state.
-- Decoding only reads: the stored text is never re-encoded.
local function state_field(json)
  if not json then return nil end
  local ok, doc = pcall(cjson.decode, json)
  if ok and type(doc) == 'table' and type(doc.state) == 'string' then return doc.state end
  return nil
end

-- Checks a versioned write without changing anything. w: { mode = 'create'|'match',
-- expected = n, json = raw }. Returns nil when the write may go ahead, else a conflict.
local function state_check(vkey, w)
  local cur = state_read(vkey)
  if w.mode == 'create' then
    if cur.json then return state_conflict('exists', 'key already exists (version ' .. cur.ver .. ')', cur) end
  else
    if not cur.json then
      return state_conflict('version', 'key does not exist (expected version ' .. tostring(w.expected) .. ')', cur)
    end
    if cur.ver ~= tonumber(w.expected) then
      return state_conflict('version', 'version is ' .. cur.ver .. ', not ' .. tostring(w.expected), cur)
    end
  end
  -- A key bound to a machine changes state only through a checked transition.
  if cur.m and w.json and state_field(w.json) ~= cur.st then
    return state_conflict('machine', 'key is under machine ' .. cur.m .. ' in state ' .. cur.st ..
      '; keep "state" unchanged and change it with a transition', cur)
  end
  return nil
end

-- nil when the write may go ahead; a not_found failure when the run (meta key) is gone.
local function state_run_check(meta, id)
  if meta and redis.call('EXISTS', meta) == 0 then return run_not_found(id) end
  return nil
end

local function state_history(hkey, entry, max)
  redis.call('LPUSH', hkey, cjson.encode(entry))
  redis.call('LTRIM', hkey, 0, (tonumber(max) or 50) - 1)
end

-- Applies a checked write: bumps the version, records the writer and a history entry.
-- w: { json = raw or nil (delete), op, writer, historyMax, machine?, state?, from?,
-- index? (the scope's set of key names), key? (the key's name, for the index) }.
local function state_apply(vkey, hkey, w, at)
  if w.index then redis.call('SADD', w.index, w.key) end
  local ver = redis.call('HINCRBY', vkey, 'ver', 1)
  local writer = w.writer or {}
  local wjson = cjson.encode(writer)
  if w.json then
    redis.call('HSET', vkey, 'v', w.json, 'w', wjson, 'at', at)
    if w.machine then redis.call('HSET', vkey, 'm', w.machine, 'st', w.state) end
  else
    redis.call('HDEL', vkey, 'v', 'm', 'st')
    redis.call('HSET', vkey, 'w', wjson, 'at', at)
  end
  state_history(hkey, { version = ver, op = w.op, at = at, writer = writer, from = w.from, to = w.state }, w.historyMax)
  return ver
end

-- The frame of every script call (docs/architecture.md, "Script calls"). A script opens
-- with `local a = begin(K, ARGV)` and ends with `return reply(value)` or
-- `return fail(code, message, details)`; nothing else writes its reply.
--
-- K holds the call's KEYS by the names listed in the script's `-- KEYS:` header (the
-- loader, redis/lua.ts, builds it from that line). Every key a script touches is in K or
-- derives from a K entry that ends with ':' (a run key, or the shard's run and ready-queue
-- prefixes) by appending ids and the suffixes documented in core.lua.
--
-- With Redis Functions the library's locals live across calls, so begin() resets all
-- per-call state here.
local K = {}
local CALL = {}

-- The one clock: epoch ms as a decimal string, from the caller's `now` (a test clock) or
-- Redis TIME, so every worker shares one clock. A string because scripts concatenate it
-- into several entries (Lua coerces it where it adds).
local function clock(a)
  if a.now then return string.format('%d', tonumber(a.now)) end
  local t = redis.call('TIME')
  return t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
end

-- ARGV[2] = '1': the caller relays this call's outbox entries itself (redis/contract.ts),
-- so the reply carries them (see reply()). An argument `tp` (the engine traces:
-- EngineOptions.traceContext) hands the run's traceparent to tasks and NodeReady events.
-- The per-call state, empty: runs/ctx: run contexts by run key and by tenant and id
-- (core.lua); log/log_runs/out (outn entries): buffered event log and outbox writes;
-- left_runs: runs whose meta.remaining has a change not written yet (core.lua).
local function fresh_call(relay, tp)
  return { runs = {}, ctx = {}, log = {}, log_runs = {}, out = {}, outn = 0, left_runs = {}, relay = relay, tp = tp }
end

local function begin(keys, argv)
  K = keys
  local a = cjson.decode(argv[1])
  CALL = fresh_call(argv[2] == '1', a.tp)
  return a
end

-- The run's W3C traceparent (meta.tp, written by submit when it was given one), read once
-- per run and call, and only when the call traces: nil otherwise.
local function trace_of(run)
  if not CALL.tp then return nil end
  if run.tp == nil then run.tp = redis.call('HGET', run.meta, 'tp') or false end
  return run.tp or nil
end

-- Event log: a Redis Stream per run (`<run key>events`). Each event has a seq (1, 2, 3...
-- per run), so a cursor is just a number. An event is one packed field `e` =
-- "type|node|attempt|from|actor|at[|lease]" (ids cannot contain '|'), followed by `d` (JSON)
-- when it carries data. Inside one stream entry an empty `at` is the previous event's (a
-- call has one clock), and an empty actor is the engine's in a short node.ready (`R`) and
-- otherwise the previous event's that is not a short node.ready (ids are never empty: a
-- worker's completions, the engine's node.ready, then its claims name the worker once).
-- `lease` (node.started only) stands for the data { workerId = actor, leaseExpiresAt =
-- at + lease } without a `d`. The events a call appends
-- to one run go into one stream entry (in chunks of LOG_CHUNK) whose id is
-- `0-<seq of its last event>`: one XADD per run and call. meta.seq counts the run's events.
-- Buffered by append_event, written by reply(); engine/codec.ts decodes them.
-- The commonest (type, from) pairs are one letter in the type's place, with an empty from
-- (LOG_SHORT); the commonest outbox types likewise (OUT_SHORT). engine/codec.ts holds the
-- same tables (packages/core/test/engine/codec.test.ts compares them).
local LOG_SHORT = { ['node.ready'] = { pending = 'R' }, ['node.started'] = { ready = 'S' }, ['node.succeeded'] = { running = 'C' } }
local OUT_SHORT = { NodeReady = 'R', NodeSucceeded = 'C' }
local LOG_CHUNK = 500
-- A buffer counts its entries itself (l.n): `#` is a search on every append, and these
-- are the hottest lines of a batch.
local function append_event(run, t, node, attempt, by, at, from, data, lease)
  local l = CALL.log[run.k]
  if not l then
    l = { n = 0 }
    CALL.log[run.k] = l
    CALL.log_runs[#CALL.log_runs + 1] = run
  end
  local short = from and LOG_SHORT[t]
  short = short and short[from]
  local i = l.n
  if short == 'R' then
    -- A short node.ready keeps out of the actor rule: its actor (none for the engine's) is
    -- written here, and its actor slot is false.
    l[i + 1] = 'R|' .. node .. '|' .. (attempt or '') .. '||' .. (by == 'engine' and '' or by)
    by = false
  elseif short then
    l[i + 1] = short .. '|' .. node .. '|' .. (attempt or '') .. '||'
  else
    l[i + 1] = t .. '|' .. (node or '') .. '|' .. (attempt or '') .. '|' .. (from or '') .. '|'
  end
  l[i + 2] = by
  l[i + 3] = at
  l[i + 4] = lease or false
  l[i + 5] = data or false
  l.n = i + 5
end

-- Outbox: one Stream per shard (K.outbox), relayed to EventBridge and acked after PutEvents.
-- One packed field `e` per event: "type|tenant|dagId|node|agent|attempt|at[|gen|deadline[|traceparent]]"
-- (a NodeWaiting's wait generation and deadline; a traced NodeReady's traceparent, its gen
-- and deadline empty); a call's events share entries of up to
-- OUT_CHUNK events, in which an empty tenant, dagId or at is the previous event's.
local OUT_CHUNK = 100
local function outbox(run, t, node, agent, attempt, at, wait)
  local out, i = CALL.out, CALL.outn
  out[i + 1] = OUT_SHORT[t] or t
  out[i + 2] = run
  out[i + 3] = '|' .. (node or '') .. '|' .. (agent or '') .. '|' .. (attempt or 0) .. '|'
  out[i + 4] = at
  local tp = CALL.tp and t == 'NodeReady' and trace_of(run)
  out[i + 5] = (wait and ('|' .. wait) or '') .. (tp and ('|||' .. tp) or '')
  CALL.outn = i + 5
end

local function flush_run_log(run, l)
  local len = l.n
  local count = len / 5
  local seq = redis.call('HINCRBY', run.meta, 'seq', count) - count
  local f, nf, last_by, last_at = {}, 0, nil, nil
  for i = 1, len, 5 do
    local p, by, at, lease = l[i], l[i + 1], l[i + 2], l[i + 3]
    local e
    if by then
      e = p .. (by == last_by and '' or by) .. '|' .. (at == last_at and '' or at)
      last_by = by
    else
      e = p .. '|' .. (at == last_at and '' or at)
    end
    last_at = at
    f[nf + 1] = 'e'
    f[nf + 2] = lease and (e .. '|' .. lease) or e
    nf = nf + 2
    if l[i + 4] then
      f[nf + 1] = 'd'
      f[nf + 2] = l[i + 4]
      nf = nf + 2
    end
    seq = seq + 1
    if i + 4 == len or (i + 4) % (5 * LOG_CHUNK) == 0 then
      -- '%d': a Lua number concatenated is formatted as %.14g (glibc's slow float path).
      redis.call('XADD', run.k .. 'events', string.format('0-%d', seq), unpack(f, 1, nf))
      f, nf, last_by, last_at = {}, 0, nil, nil
    end
  end
end

-- Returns the outbox entries written, as XRANGE gives them ({ id, fields }), when the
-- caller asked for them (CALL.relay) and there were any.
local function flush_log()
  -- Writes an include deferred to the end of the call (includes/agents.lua: the ready index).
  if CALL.flush then CALL.flush() end
  for _, run in ipairs(CALL.left_runs) do
    if run.dleft ~= 0 then redis.call('HINCRBY', run.meta, 'remaining', run.dleft) end
  end
  for _, run in ipairs(CALL.log_runs) do flush_run_log(run, CALL.log[run.k]) end
  local out, len = CALL.out, CALL.outn
  local written = CALL.relay and len > 0 and {} or nil
  local f, nf, last_run, last_at = {}, 0, nil, nil
  for i = 1, len, 5 do
    local run, at = out[i + 1], out[i + 3]
    local ids = run == last_run and '||' or ('|' .. run.tenant .. '|' .. run.id)
    f[nf + 1] = 'e'
    f[nf + 2] = out[i] .. ids .. out[i + 2] .. (at == last_at and '' or at) .. out[i + 4]
    nf = nf + 2
    last_run, last_at = run, at
    if i + 4 == len or (i + 4) % (5 * OUT_CHUNK) == 0 then
      local id = redis.call('XADD', K.outbox, '*', unpack(f, 1, nf))
      if written then written[#written + 1] = { id, f } end
      f, nf, last_run, last_at = {}, 0, nil, nil
    end
  end
  CALL = fresh_call(false, nil)
  return written
end

-- Ends a call: writes the buffered log and outbox, then the reply. A table is encoded with
-- cjson; a string is JSON text already (scripts that join stored JSON without re-encoding).
-- With CALL.relay, the outbox entries just written go first: '#' .. their JSON .. '\n' ..
-- the reply (JSON text starts with neither '#' nor holds a raw newline), so the caller can
-- publish them and ack without reading the outbox back. They stay in the outbox until acked.
local function reply(value)
  local written = flush_log()
  local text = type(value) == 'string' and value or cjson.encode(value)
  if written then return '#' .. cjson.encode(written) .. '\n' .. text end
  return text
end

-- The one error reply: { err = code, message, field?, ...details }. code is not_found,
-- conflict, validation, payload_too_large or rate_limited (over a count); field names the input at fault; details
-- (current, reason, allowed...) reach the caller as the error's details.
-- A field `json` in details is raw JSON text the decoder (redis/reply.ts) parses into `value`.
local function failure(code, message, details)
  local r = { err = code, message = message }
  if details then for k, v in pairs(details) do r[k] = v end end
  return r
end

local function fail(code, message, details)
  return reply(failure(code, message, details))
end

local function run_not_found(id)
  return failure('not_found', 'run ' .. id .. ' not found')
end

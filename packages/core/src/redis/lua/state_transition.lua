-- state_transition: move a key under a state machine to another state, checked against the
-- machine and applied in one step.
-- KEYS: value history state_keys meta?
-- value hash, history list, the scope's set of key names (a run's or a namespace's, for
-- listing); run-scoped keys also the run's meta hash (must exist).
-- ARGV[1] JSON { key: the key's name, dagId?, machine: name, def: { initial, states: [..], transitions: { FROM: [TO..] } },
--   to, expected?: n (absent: the key must not exist), json: the new value (the value read
--   at `expected` with state = to), writer, historyMax, now? }.
-- Returns { version, at, from? }, or a conflict (reason version|transition|machine,
--   current, allowed?), or not_found (a run-scoped key whose run is gone).
-- Invariants: a value under a machine only ever holds a state the machine reaches by an
-- allowed transition (a missing key may only start in `initial`); an invalid transition
-- changes nothing. The version check makes `json` (computed by the caller from the value
-- at `expected`) safe: if anything was written since, nothing is applied.
--@include state_entry
local a = begin(K, ARGV)
local gone = state_run_check(K.meta, a.dagId)
if gone then return reply(gone) end
local cur = state_read(K.value)
local def = a.def

local function list(t)
  local out = {}
  if type(t) == 'table' then for _, v in ipairs(t) do out[#out + 1] = v end end
  return out
end
local function member(t, x)
  for _, v in ipairs(t) do if v == x then return true end end
  return false
end

local from = nil
if a.expected == nil then
  if cur.json then
    return reply(state_conflict('version', 'key already exists (version ' .. cur.ver .. ')', cur))
  end
  if a.to ~= def.initial then
    return reply(state_conflict('transition', 'key does not exist yet: the first state of machine ' ..
      a.machine .. ' must be ' .. def.initial .. ', not ' .. a.to, cur, { allowed = { def.initial } }))
  end
else
  if not cur.json or cur.ver ~= tonumber(a.expected) then
    return reply(state_conflict('version', 'version is ' .. cur.ver .. ', not ' .. tostring(a.expected), cur))
  end
  if cur.m and cur.m ~= a.machine then
    return reply(state_conflict('machine', 'key is under machine ' .. cur.m .. ', not ' .. a.machine, cur))
  end
  from = cur.st or state_field(cur.json)
  if not from or not member(list(def.states), from) then
    return reply(state_conflict('machine', 'value has no "state" of machine ' .. a.machine, cur))
  end
  local allowed = list(def.transitions and def.transitions[from])
  if not member(allowed, a.to) then
    local names = #allowed > 0 and table.concat(allowed, ', ') or 'none'
    return reply(state_conflict('transition', 'machine ' .. a.machine .. ' does not allow ' .. from ..
      ' -> ' .. a.to .. ' (allowed from ' .. from .. ': ' .. names .. ')', cur, { allowed = allowed }))
  end
end

local at = tonumber(clock(a))
local ver = state_apply(K.value, K.history, { json = a.json, op = 'transition', writer = a.writer,
  historyMax = a.historyMax, index = K.state_keys, key = a.key, machine = a.machine, state = a.to, from = from }, at)
return reply({ version = ver, at = at, from = from })

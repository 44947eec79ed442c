-- read_events: a page of a run's event log: the events after a cursor (a seq), at most `limit`.
-- KEYS: run
-- FLAGS: no-writes
-- ARGV[1] JSON { tenant, dagId, after, limit }.
-- Returns { entries: [[id, [field, value...]]] } holding exactly the events after `after`,
-- at most `limit` of them. Invariant: `limit` counts events, not stream entries. An entry
-- holds one call's events (up to LOG_CHUNK, includes/call.lua) and its id is the last one's
-- seq; an entry cut here gets the id of the last event it keeps, so seqs still derive from it.
--@include core
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
if redis.call('EXISTS', run.meta) == 0 then return reply(run_not_found(a.dagId)) end
local out = {}
local left = a.limit
local from = a.after + 1
-- Every entry from `from` on holds at least one event >= from: `limit` entries are enough.
for _, entry in ipairs(redis.call('XRANGE', run.k .. 'events', '0-' .. from, '+', 'COUNT', a.limit)) do
  local f = entry[2]
  local count = 0
  for i = 1, #f, 2 do if f[i] == 'e' then count = count + 1 end end
  local seq = tonumber(string.sub(entry[1], 3)) - count
  local keep, taking, kept, by, at, named = {}, false, 0, nil, nil, false
  for i = 1, #f, 2 do
    local v = f[i + 1]
    if f[i] == 'e' then
      seq = seq + 1
      if seq >= from and left == 0 then break end
      taking = seq >= from
      if taking then
        left = left - 1
        kept = seq
      end
      -- An empty `at` is the previous event's, an empty actor the previous one not of a short
      -- node.ready, whose own empty actor is the engine's wherever it stands
      -- (includes/call.lua): the first event kept of a cut entry gets its own `at`, the
      -- first kept that is not a short node.ready its own actor.
      local head, who, own, tail = string.match(v, '^([^|]*|[^|]*|[^|]*|[^|]*|)([^|]*)|([^|]*)(.*)$')
      local ready = string.sub(v, 1, 2) == 'R|'
      if taking and head then
        local fill_by = who == '' and not ready and not named and by
        local fill_at = own == '' and #keep == 0 and at
        if fill_by or fill_at then v = head .. (fill_by or who) .. '|' .. (fill_at or own) .. tail end
        if not ready then named = true end
      end
      if who ~= '' and not ready then by = who end
      if own ~= '' then at = own end
    end
    if taking then
      keep[#keep + 1] = f[i]
      keep[#keep + 1] = v
    end
  end
  out[#out + 1] = { '0-' .. kept, keep }
  if left == 0 then break end
end
return reply({ entries = out })

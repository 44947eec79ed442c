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
  local keep, taking, kept, by, at = {}, false, 0, nil, nil
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
      -- An empty actor or `at` is the previous event's (includes/call.lua): the first event
      -- kept of a cut entry gets its own.
      local head, who, own, tail = string.match(v, '^([^|]*|[^|]*|[^|]*|[^|]*|)([^|]*)|([^|]*)(.*)$')
      if taking and #keep == 0 and ((who == '' and by) or (own == '' and at)) then
        v = head .. (who ~= '' and who or by) .. '|' .. (own ~= '' and own or at) .. tail
      end
      if who ~= '' then by = who end
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

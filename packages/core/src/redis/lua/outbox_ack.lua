-- outbox_ack: forget outbox events that reached the bus.
-- KEYS: outbox
-- ARGV[1] JSON { entries: [[entryId, [index]]] }: per outbox entry,
-- the positions of its events that were published.
-- Returns { acked }: events removed (entries already gone count 0, so a repeated ack is a no-op).
-- An entry holds the events of one script call; when only some of them were published,
-- the rest are written back as a new entry, so nothing unpublished is lost and nothing
-- published is sent again.
--@include core
local a = begin(K, ARGV)
local key = K.outbox
local acked = 0
for _, e in ipairs(a.entries) do
  local id, done = e[1], {}
  for _, i in ipairs(e[2]) do done[i] = true end
  local entry = redis.call('XRANGE', key, id, id)[1]
  if entry then
    local fields, rest = entry[2], {}
    -- An empty tenant, dagId or at is the previous event's (includes/call.lua): the events
    -- written back get their own, since their neighbours may be gone.
    local tenant, dag, at
    for i = 1, #fields, 2 do
      local t, tn, d, mid, when, tail = string.match(fields[i + 1], '^([^|]*)|([^|]*)|([^|]*)|([^|]*|[^|]*|[^|]*)|([^|]*)(.*)$')
      if tn ~= '' then tenant = tn end
      if d ~= '' then dag = d end
      if when ~= '' then at = when end
      if done[(i - 1) / 2] then
        acked = acked + 1
      else
        rest[#rest + 1] = fields[i]
        rest[#rest + 1] = t .. '|' .. tenant .. '|' .. dag .. '|' .. mid .. '|' .. at .. tail
      end
    end
    if #rest > 0 then redis.call('XADD', key, '*', unpack(rest)) end
    redis.call('XDEL', key, id)
  end
end
return reply({ acked = acked })

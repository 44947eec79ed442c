-- rate_limit: take one token from each of a tenant's token buckets, or from none.
-- KEYS: buckets*
-- ARGV[1] JSON { limits = [{ rate, burst }] (per bucket, in KEYS order: tokens per second and
-- the bucket's size), now? }.
-- Returns { ok = true } or { ok = false, retryMs, empty } (how long until every bucket holds a
-- token; empty: the 1-based index of the bucket that takes longest).
-- Keeps: a bucket holds between 0 and burst tokens; a refused request takes nothing from
-- any bucket (all or none, in one script), so a tenant's tenant-wide and route-class buckets
-- never disagree. Buckets refill lazily from the time of their last take (one clock: Redis
-- TIME) and expire once they would be full again, so an idle tenant costs no memory.
--@include call
local a = begin(K, ARGV)
local now = tonumber(clock(a))
local wait, empty = 0, nil
local tokens = {}
for i, key in ipairs(K.buckets) do
  local l = a.limits[i]
  local b = redis.call('HMGET', key, 't', 'at')
  local t = tonumber(b[1]) or l.burst
  local at = tonumber(b[2]) or now
  if now > at then t = math.min(l.burst, t + (now - at) * l.rate / 1000) end
  tokens[i] = t
  if t < 1 then
    local w = math.ceil((1 - t) * 1000 / l.rate)
    if w > wait then wait, empty = w, i end
  end
end
if wait > 0 then return reply({ ok = false, retryMs = wait, empty = empty }) end
for i, key in ipairs(K.buckets) do
  local l = a.limits[i]
  redis.call('HSET', key, 't', tostring(tokens[i] - 1), 'at', string.format('%d', now))
  redis.call('PEXPIRE', key, math.ceil(l.burst * 1000 / l.rate) + 1000)
end
return reply({ ok = true })

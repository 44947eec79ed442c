--[[ dump: everything Redis holds of a thread, for the cold tier.
KEYS: [1] thread hash, [2] thread checkpoint zset
ARGV: none
Returns JSON: { missing } | { seq, archived = seq | false, t, hash = [field, value, ...], members = [...] }
Invariant: read only; `seq` names exactly this state, so the confirm step (evict) can tell
whether anything was written after the dump. ]]
local h, z = KEYS[1], KEYS[2]
if redis.call('EXISTS', h) == 0 then return cjson.encode({ missing = true }) end
local s = redis.call('HMGET', h, 's', 'a', 't')
return cjson.encode({
  seq = tonumber(s[1]), archived = s[2] and tonumber(s[2]) or false, t = tonumber(s[3] or '0'),
  hash = redis.call('HGETALL', h), members = redis.call('ZRANGE', z, 0, -1),
})

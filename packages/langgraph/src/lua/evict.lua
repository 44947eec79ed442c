--[[ evict: the confirm step of the cold tier's cache-aside flush. Called only after the
archive of write sequence `seq` is stored in DynamoDB.
KEYS: [1] thread hash, [2] thread checkpoint zset
ARGV: [1] JSON { seq, keepMs, now (true: delete the keys at once) }
Returns JSON: { ok } | { moved } (written since the dump: kept, no TTL; the next flush archives it)
Invariant: Redis lets a thread go (TTL or delete) only when DynamoDB holds every write it has. ]]
--@include thread
local h, z = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
local s = redis.call('HGET', h, 's')
if not s or tonumber(s) ~= a.seq then return cjson.encode({ moved = true }) end
if a.now then
  redis.call('DEL', h, z)
else
  redis.call('HSET', h, 'a', a.seq)
  set_ttl(h, z, a.keepMs)
end
return cjson.encode({ ok = true })

--[[ restore: bring an archived thread back into Redis (read-through and rehydrate-on-write).
KEYS: [1] thread hash, [2] thread checkpoint zset
ARGV: [1] JSON { seq, fields (number of hash pairs), keepMs }, [2..] hash field, value, ..., then zset members
Returns JSON: { ok } | { exists } (Redis has the thread: never overwrite newer state with an archive)
Invariant: the restored thread is marked archived at `seq` and expires after keepMs unless written. ]]
--@include thread
local h, z = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
if redis.call('EXISTS', h) == 1 then return cjson.encode({ exists = true }) end
redis.call('DEL', z)
local last = 1 + 2 * a.fields
for i = 2, last, 2 do redis.call('HSET', h, ARGV[i], ARGV[i + 1]) end
for i = last + 1, #ARGV do redis.call('ZADD', z, 0, ARGV[i]) end
redis.call('HSET', h, 's', a.seq, 'a', a.seq)
redis.call('HDEL', h, 'i')
set_ttl(h, z, a.keepMs)
return cjson.encode({ ok = true })

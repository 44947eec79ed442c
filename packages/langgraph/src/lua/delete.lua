--[[ delete: remove a thread from Redis (deleteThread; the cold tier and the index are cleared by the caller).
KEYS: [1] thread hash, [2] thread checkpoint zset
ARGV: none
Returns JSON: { ok, deleted = number of keys removed } ]]
return cjson.encode({ ok = true, deleted = redis.call('DEL', KEYS[1], KEYS[2]) })

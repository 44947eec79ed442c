--[[ indexed: the thread is in the thread index now; stop asking writers to enter it.
KEYS: [1] thread hash
ARGV: none
Returns JSON: { ok } ]]
redis.call('HDEL', KEYS[1], 'i')
return cjson.encode({ ok = true })

--[[ thread_index: the saver's index of threads (one zset in its own slot).
Member: thread id. Score: when the thread last became dirty (epoch ms), or ARCHIVED
(a large constant) once the cold tier holds it; so threads due for the cold tier are a
range read, O(due), never a scan of every thread.
KEYS: [1] the index zset
ARGV: [1] JSON { op = add | rem | due | page, thread, score, max, limit, offset }
Returns JSON: { ok } | { threads = [id...] } (due: score <= max; page: by rank from offset) ]]
local k = KEYS[1]
local a = cjson.decode(ARGV[1])
if a.op == 'add' then
  redis.call('ZADD', k, a.score, a.thread)
elseif a.op == 'rem' then
  redis.call('ZREM', k, a.thread)
elseif a.op == 'due' then
  return cjson.encode({ threads = redis.call('ZRANGEBYSCORE', k, '-inf', a.max, 'LIMIT', 0, a.limit) })
elseif a.op == 'page' then
  return cjson.encode({ threads = redis.call('ZRANGE', k, a.offset, a.offset + a.limit - 1) })
end
return cjson.encode({ ok = true })

-- finished_due: finished runs whose flush to cold storage is overdue (the reconcile backstop).
-- KEYS[1] shard prefix. ARGV[1] JSON { olderThan (epoch ms), limit }.
-- Returns { runs: ["tenant|dagId"] }. Cost O(limit): a range of the `finished` index.
--@include core
local a = cjson.decode(ARGV[1])
return cjson.encode({ runs = redis.call('ZRANGEBYSCORE', P .. 'finished', '-inf', a.olderThan, 'LIMIT', 0, a.limit) })

-- finished_due: finished runs whose flush to cold storage is overdue (the reconcile backstop).
-- KEYS: finished
-- FLAGS: no-writes
-- ARGV[1] JSON { olderThan (epoch ms), limit }.
-- Returns { runs: ["tenant|dagId"] }. Cost O(limit): a range of the `finished` index.
--@include core
local a = begin(K, ARGV)
return reply({ runs = redis.call('ZRANGEBYSCORE', K.finished, '-inf', a.olderThan, 'LIMIT', 0, a.limit) })

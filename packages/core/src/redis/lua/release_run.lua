-- release_run: after the run's archive is confirmed in cold storage, give its keys a TTL.
-- KEYS: run finished tenant_runs
-- ARGV[1] JSON { tenant, dagId, ttlSeconds, archivedAt, now? }.
-- Returns { released } - false when the run is running again (redriven) or gone.
-- Invariant: nothing leaves Redis that is not safe in cold storage (callers flush first;
-- a run resumed since the flush is not released).
--@include core
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local st = redis.call('HGET', run.meta, 'status')
if not st or st == 'running' then
  return reply({ released = false, status = st or false })
end
redis.call('HSET', run.meta, 'archivedAt', a.archivedAt)
for _, node in ipairs(split(redis.call('GET', run.k .. 'order'), ',')) do
  redis.call('EXPIRE', run.n .. node, a.ttlSeconds)
end
for _, name in ipairs(redis.call('SMEMBERS', run.k .. 'state-keys')) do
  redis.call('EXPIRE', run.k .. 'state:' .. name, a.ttlSeconds)
  redis.call('EXPIRE', run.k .. 'state-history:' .. name, a.ttlSeconds)
end
for _, k in ipairs({ 'meta', 'order', 'events', 'state-keys' }) do redis.call('EXPIRE', run.k .. k, a.ttlSeconds) end
redis.call('ZREM', K.finished, run.tenant .. '|' .. run.id)
redis.call('ZREM', K.tenant_runs, run.id)
return reply({ released = true, status = st })

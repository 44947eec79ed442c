-- read_events: a page of a run's event log after a cursor (a seq).
-- KEYS: run
-- FLAGS: no-writes
-- ARGV[1] JSON { tenant, dagId, after, limit }.
-- Returns { entries: [[id, [field, value...]]] }.
--@include core
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
if redis.call('EXISTS', run.meta) == 0 then return reply(run_not_found(a.dagId)) end
local entries = redis.call('XRANGE', run.k .. 'events', '0-' .. (a.after + 1), '+', 'COUNT', a.limit)
return reply({ entries = entries })

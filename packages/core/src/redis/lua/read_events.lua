-- read_events: a page of a run's event log after a cursor (a seq).
-- KEYS[1] shard prefix. ARGV[1] JSON { tenant, dagId, after, limit }.
-- Returns { entries: [[id, [field, value...]]] }.
--@include core
local a = cjson.decode(ARGV[1])
local run = run_ctx(a.tenant, a.dagId)
if redis.call('EXISTS', run.meta) == 0 then return err('not_found', 'run ' .. a.dagId .. ' not found') end
local entries = redis.call('XRANGE', run.k .. 'events', '0-' .. (a.after + 1), '+', 'COUNT', a.limit)
return cjson.encode({ entries = entries })

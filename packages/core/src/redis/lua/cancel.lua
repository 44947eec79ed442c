-- cancel: cancel every node not yet terminal and end the run as cancelled.
-- KEYS: run leases retries finished outbox waits wait_keys inflight agents
-- ARGV[1] JSON { tenant, dagId, reason, actor, now? }.
-- Returns { status, changed }; cancelling a finished run changes nothing.
--@include node
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local at = clock(a)
local rs = redis.call('HGET', run.meta, 'status')
if not rs then return reply(run_not_found(a.dagId)) end
if rs ~= 'running' then return reply({ status = rs, changed = false }) end
cancel_open(run, a.reason, at, a.actor)
finish(run, 'cancelled', at, a.actor)
return reply({ status = 'cancelled', changed = true })

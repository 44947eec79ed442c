-- cancel: cancel every node not yet terminal and end the run as cancelled.
-- KEYS[1] shard prefix. ARGV[1] JSON { tenant, dagId, reason, actor, now? }.
-- Returns { status, changed }; cancelling a finished run changes nothing.
--@include node
local a = cjson.decode(ARGV[1])
local run = run_ctx(a.tenant, a.dagId)
local at = now_ms(a)
local rs = redis.call('HGET', run.meta, 'status')
if not rs then return err('not_found', 'run ' .. a.dagId .. ' not found') end
if rs ~= 'running' then return cjson.encode({ status = rs, changed = false }) end
cancel_open(run, a.reason, at, a.actor)
finish(run, 'cancelled', at, a.actor)
return cjson.encode({ status = 'cancelled', changed = true })

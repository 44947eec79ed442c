-- read_run: a consistent view of one run (one script, so no torn reads).
-- KEYS[1] shard prefix. ARGV[1] JSON { tenant, dagId, input, output }.
-- Returns { meta: [k, v...], status, agent, deps, attempt, lease, error, output?, input? } (hash dumps).
--@include core
local a = cjson.decode(ARGV[1])
local run = run_ctx(a.tenant, a.dagId)
local meta = redis.call('HGETALL', run.meta)
if #meta == 0 then return err('not_found', 'run ' .. a.dagId .. ' not found') end
local res = { meta = meta, order = redis.call('GET', run.k .. 'order') }
for _, h in ipairs({ 'status', 'agent', 'deps', 'attempt', 'lease', 'error' }) do
  res[h] = redis.call('HGETALL', run.k .. h)
end
if a.output then res.output = redis.call('HGETALL', run.k .. 'output') end
if a.input then res.input = redis.call('HGETALL', run.k .. 'input') end
return cjson.encode(res)

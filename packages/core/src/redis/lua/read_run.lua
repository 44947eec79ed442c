-- read_run: a consistent view of one run (one script, so no torn reads).
-- KEYS: run
-- FLAGS: no-writes
-- ARGV[1] JSON { tenant, dagId, input, output, policy }.
-- Returns { meta: [k, v...], order, nodes: [[field, value...] per node in order] }.
--@include core
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local meta = redis.call('HGETALL', run.meta)
if #meta == 0 then return reply(run_not_found(a.dagId)) end
local order = redis.call('GET', run.k .. 'order')
local fields = { 's', 'g', 'd', 'a', 'l', 'e', 'ab', 'j', 'f', 'W', 'wd', 'wg', 'su', 'sg' }
if a.output then fields[#fields + 1] = 'o' end
if a.input then fields[#fields + 1] = 'i'; fields[#fields + 1] = 'wi' end
if a.policy then fields[#fields + 1] = 'p'; fields[#fields + 1] = 't'; fields[#fields + 1] = 'wo' end
local nodes = {}
for i, node in ipairs(split(order, ',')) do
  nodes[i] = redis.call('HMGET', run.n .. node, unpack(fields))
end
return reply({ meta = meta, order = order, fields = fields, nodes = nodes })

-- claim: lease up to `max` ready nodes of one agent on this shard.
-- KEYS[1] shard prefix. ARGV[1] JSON { tenant, agent, max, leaseMs, workerId, rands: [string], seed, now? }.
-- Returns { tasks: [Task] } (input as a JSON string or false).
-- Invariant: a node is handed out only while ready, so at most one live lease per node.
--@include node
local a = cjson.decode(ARGV[1])
math.randomseed(a.seed)
local at = now_ms(a)
sweep_shard(at, 100)
local tasks = claim_queue(a.tenant, a.agent, a.max, a.leaseMs, a.workerId, a.rands, at)
if #tasks == 0 then return '{"tasks":[]}' end
return cjson.encode({ tasks = tasks })

-- claim: lease up to `max` ready nodes of one agent on this shard.
-- KEYS: leases retries finished outbox queues shard_runs waits wait_keys inflight agents
-- ARGV[1] JSON { tenant, agent, max, leaseMs, workerId, rands: [string], seed, now? }.
-- Returns { tasks: [Task] } (input as a JSON string or false).
-- Invariant: a node is handed out only while ready, so at most one live lease per node.
--@include node
local a = begin(K, ARGV)
math.randomseed(a.seed)
local at = clock(a)
sweep_shard(at, 100)
local tasks = claim_queue(a.tenant, a.agent, a.max, a.leaseMs, a.workerId, a.rands, at)
if #tasks == 0 then return reply('{"tasks":[]}') end
return reply({ tasks = tasks })

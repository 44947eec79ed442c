-- add_nodes: add nodes and dependencies to a running run from outside it (an orchestrator
-- or another agent, with the tenant's key).
-- KEYS: run queues outbox waits wait_keys inflight agents
-- ARGV[1] JSON { tenant, dagId, add (see includes/grow.lua), actor, now? }.
-- Returns { added: [id], ready: [id] }; a run that has ended -> conflict.
-- Invariants: acyclic, all or nothing; ids stay unique (adding the same node twice is a
-- conflict naming it, so a retried call cannot add twice).
--@include grow
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
local at = clock(a)
local pushes = {}
local e, ids, ready = grow(run, a.add, { actor = a.actor }, at, pushes)
if e then return reply(e) end
push_ready(pushes)
return reply({ added = ids, ready = ready })

-- add_nodes: add nodes and dependencies to a running run from outside it (an orchestrator
-- or another agent, with the tenant's key).
-- KEYS[1] shard prefix. ARGV[1] JSON { tenant, dagId, add (see includes/grow.lua), actor, now? }.
-- Returns { added: [id], ready: [id] }; a run that has ended -> conflict.
-- Invariants: acyclic, all or nothing; ids stay unique (adding the same node twice is a
-- conflict naming it, so a retried call cannot add twice).
--@include grow
local a = cjson.decode(ARGV[1])
local run = run_ctx(a.tenant, a.dagId)
local at = now_ms(a)
local pushes = {}
local e, ids, ready = grow(run, a.add, { actor = a.actor }, at, pushes)
if e then return cjson.encode(e) end
push_ready(pushes)
return cjson.encode({ added = ids, ready = ready })

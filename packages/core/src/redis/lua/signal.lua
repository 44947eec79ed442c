-- signal: end a waiting node's wait (an approval, a rejection, a webhook's answer).
-- KEYS: run leases retries finished outbox queues waits wait_keys inflight agents
-- ARGV[1] JSON { tenant, dagId, nodeId, gen?, via, by?, signalId?, output? | error? (raw
--   JSON), now? }. `gen` comes from a signal token: the signal applies only to that wait,
--   and anything else answers not_found (a token reveals nothing).
-- Returns { status, runStatus, duplicate }.
-- Invariants: the first signal wins, once (the wait generation moves on, voiding tokens);
-- a later one is a conflict with the current state, the same signalId again a duplicate.
--@include signal
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
return reply(signal_node(run, a.nodeId, a, a.gen, clock(a)))

-- signal_key: end the wait of every node of a tenant on this shard waiting on `key`
-- (waitForEvent across runs). A signal sent before any node waits on the key is not kept.
-- KEYS: leases retries finished outbox queues shard_runs waits wait_keys inflight agents
-- ARGV[1] JSON { tenant, key, by?, signalId?, output? | error?, now? }.
-- Returns { signalled, nodes: [[dagId, nodeId, status]] }. Cost O(waiters of the key).
--@include signal
local a = begin(K, ARGV)
local at = clock(a)
a.via = 'key'
local out = {}
for _, m in ipairs(redis.call('SMEMBERS', wait_key_index(a.tenant, a.key))) do
  local tenant, id, node = parse_member(m)
  local run = run_ctx(tenant, id)
  if redis.call('HGET', run.n .. node, 's') == 'waiting' then
    local status = end_wait(run, node, a, at, a.by or 'key')
    out[#out + 1] = { id, node, status }
  else
    redis.call('SREM', wait_key_index(a.tenant, a.key), m)
  end
end
return reply({ signalled = #out, nodes = out })

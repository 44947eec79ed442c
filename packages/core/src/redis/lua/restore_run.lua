-- restore_run: rehydrate an archived run into Redis (so it can be redriven or rewound).
-- KEYS: run
-- ARGV[1] JSON { tenant, dagId, meta: [k, v...], order, ttlSeconds,
--   nodes: [{ id, f: [field, value...] }], events: [{ seq, f: [field, value...] }] }.
-- The keys get the TTL of a released run, so a restore that is not followed by a
-- redrive/rewind (which makes them permanent again) cleans itself up.
-- Returns { restored } - false when the run is already in Redis (nothing is overwritten).
-- Invariant: the run is written whole (one script) with its original event seqs.
--@include core
local a = begin(K, ARGV)
local run = run_at(K.run, a.tenant, a.dagId)
if redis.call('EXISTS', run.meta) == 1 then return reply({ restored = false }) end
redis.call('HSET', run.meta, unpack(a.meta))
redis.call('SET', run.k .. 'order', a.order)
for _, n in ipairs(a.nodes) do redis.call('HSET', run.n .. n.id, unpack(n.f)) end
for _, e in ipairs(a.events) do redis.call('XADD', run.k .. 'events', '0-' .. e.seq, unpack(e.f)) end
for _, n in ipairs(a.nodes) do redis.call('EXPIRE', run.n .. n.id, a.ttlSeconds) end
for _, k in ipairs({ 'meta', 'order', 'events' }) do redis.call('EXPIRE', run.k .. k, a.ttlSeconds) end
return reply({ restored = true })

-- extend: a running node adds nodes and dependencies to its run without finishing.
-- KEYS[1] shard prefix. ARGV[1] JSON { tenant, dagId, nodeId, token, add (see
--   includes/grow.lua), digest, now? }.
-- Returns { duplicate, added: [id], ready: [id] }.
-- Invariants: fenced by the live lease (a stale token adds nothing); the same extension
-- twice within one attempt adds nothing the second time and says so; acyclic, all or nothing.
--@include grow
local a = cjson.decode(ARGV[1])
local run = run_ctx(a.tenant, a.dagId)
local at = now_ms(a)
local node = a.nodeId
local n = redis.call('HMGET', run.n .. node, 's', 'l', 'a', 'x.' .. a.digest)
if not n[1] then return cjson.encode(node_missing(run, node)) end
local lease = parse_lease(n[2])
local attempt = tonumber(n[3]) or 0
if lease and lease.token == a.token and n[4] == a.token then
  return cjson.encode({ duplicate = true, added = {}, ready = {} })
end
if n[1] ~= 'running' or not lease or lease.token ~= a.token then
  return cjson.encode(stale_lease(node, n[1], attempt))
end
local pushes = {}
local e, ids, ready = grow(run, a.add, { node = node, attempt = attempt }, at, pushes)
if e then return cjson.encode(e) end
push_ready(pushes)
redis.call('HSET', run.n .. node, 'x.' .. a.digest, a.token)
return cjson.encode({ duplicate = false, added = ids, ready = ready })

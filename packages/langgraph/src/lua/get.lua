--[[ get: one checkpoint of a thread, or the namespace's latest.
KEYS: [1] thread hash, [2] thread checkpoint zset
ARGV: [1] JSON { ns, id = id | false, tasks (the pending-sends channel), refresh }
Returns JSON: { missing } (no thread in Redis) | { none } | { tuple = checkpoint row (includes/thread.lua) }
Invariant: read only; with refresh the thread's TTL starts again. ]]
--@include thread
local h, z = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
if redis.call('EXISTS', h) == 0 then return cjson.encode({ missing = true }) end
refresh(h, z, a.refresh)
local id = a.id or latest_id(z, a.ns)
if not id then return cjson.encode({ none = true }) end
local row = read_checkpoint(h, a.ns, id, a.tasks)
if not row then return cjson.encode({ none = true }) end
return cjson.encode({ tuple = row })

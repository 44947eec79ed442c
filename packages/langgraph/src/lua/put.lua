--[[ put: store one checkpoint of a thread and the channel values it changed.
KEYS: [1] thread hash, [2] thread checkpoint zset (includes/thread.lua)
ARGV: [1] JSON { ns, id, parent = id | false, guard, now, ttl, cold, blobs = [[channel, version], ...] }
      [2] header JSON, [3] checkpoint + metadata payload, [4..] the values named in `blobs`, in order
Returns JSON: { ok, index } (index: enter the thread in the thread index)
  | { missing } (cold tier on and the thread is not in Redis: rehydrate it, or call again with cold = false)
  | { conflict, latest = id | false }
Invariant: with guard, a checkpoint is stored only when its parent is the namespace's latest
checkpoint (or it is that very checkpoint stored again with the same parent: a retried put),
so of two writers extending the same checkpoint exactly one wins. ]]
--@include thread
local h, z = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
if a.cold and redis.call('EXISTS', h) == 0 then return cjson.encode({ missing = true }) end
local ns, id = a.ns, a.id
local cf = fld('c', ns, id)
if a.guard then
  local stored = redis.call('HGET', h, cf)
  if stored then
    if cjson.decode(stored).p ~= a.parent then
      return cjson.encode({ conflict = true, latest = latest_id(z, ns) })
    end
  else
    local latest = latest_id(z, ns)
    if latest ~= a.parent then return cjson.encode({ conflict = true, latest = latest }) end
  end
end
local index = touch(h, a.now)
redis.call('HSET', h, cf, ARGV[2], fld('d', ns, id), ARGV[3])
for i, b in ipairs(a.blobs) do
  redis.call('HSET', h, fld('b', ns, b[1], b[2]), ARGV[3 + i])
end
redis.call('ZADD', z, 0, ns .. SEP .. id)
set_ttl(h, z, a.ttl)
return cjson.encode({ ok = true, index = index })

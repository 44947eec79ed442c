--[[ put_writes: store a task's writes against one checkpoint.
KEYS: [1] thread hash, [2] thread checkpoint zset
ARGV: [1] JSON { ns, id, now, ttl, cold, writes = [[taskId, idx, channel, taskPath], ...] }, [2..] the values, in order
Returns JSON: { ok, index } | { missing } (as put)
Invariant: a regular write (idx >= 0) is stored once: a retried task does not replace it;
special writes (negative idx: errors, interrupts) take the latest value. ]]
--@include thread
local h, z = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
if a.cold and redis.call('EXISTS', h) == 0 then return cjson.encode({ missing = true }) end
local ns, id = a.ns, a.id
local lf = fld('W', ns, id)
local stored = redis.call('HGET', h, lf)
local list = stored and cjson.decode(stored) or {}
local known = {}
for _, w in ipairs(list) do known[w[1] .. SEP .. tostring(w[2])] = true end
local index = touch(h, a.now)
for i, w in ipairs(a.writes) do
  local k = w[1] .. SEP .. tostring(w[2])
  if not (known[k] and w[2] >= 0) then
    redis.call('HSET', h, fld('w', ns, id, w[1], tostring(w[2])), ARGV[1 + i])
    if not known[k] then
      list[#list + 1] = w
      known[k] = true
    end
  end
end
redis.call('HSET', h, lf, cjson.encode(list))
set_ttl(h, z, a.ttl)
return cjson.encode({ ok = true, index = index })

-- Shared by the WeftSaver scripts. One LangGraph thread is two keys in one hash slot
-- (both carry the hash tag of the thread, see src/keys.ts):
--   KEYS[1] the thread hash
--     s  write sequence (INCR on every write)      t  last write, epoch ms
--     x  TTL in force, ms (0: none, the cold tier has not archived it yet)
--     a  the write sequence last archived to the cold tier (absent: Redis has newer writes)
--     i  1 while the thread still has to be (re)entered in the thread index
--     c<NUL>ns<NUL>id                      header JSON {p = parent id | false, v, cv = channel versions}
--     d<NUL>ns<NUL>id                      the checkpoint (without values and versions) and its metadata
--     b<NUL>ns<NUL>channel<NUL>version     one channel value, stored once per version
--     W<NUL>ns<NUL>id                      JSON list of the checkpoint's writes [taskId, idx, channel, taskPath]
--     w<NUL>ns<NUL>id<NUL>taskId<NUL>idx   one write's value
--   KEYS[2] the thread's checkpoints: a zset of ns<NUL>id, all scores 0, so lexicographic
--           order is time order (checkpoint ids are uuid6) and the latest is the last.
-- Namespaces, ids, channels and task ids never contain NUL (src/saver.ts rejects them).
local SEP = "\0"
local function fld(...)
  return table.concat({ ... }, SEP)
end

local function latest_id(z, ns)
  local r = redis.call('ZREVRANGEBYLEX', z, '[' .. ns .. SEP .. '\255', '[' .. ns .. SEP, 'LIMIT', 0, 1)
  if r[1] then return string.sub(r[1], #ns + 2) end
  return false
end

-- ms > 0: expire both keys then; 0: keep them (the cold tier has not archived this state).
local function set_ttl(h, z, ms)
  if ms > 0 then
    redis.call('PEXPIRE', h, ms)
    redis.call('PEXPIRE', z, ms)
  else
    redis.call('PERSIST', h)
    redis.call('PERSIST', z)
  end
  redis.call('HSET', h, 'x', ms)
end

-- A write to the thread: bump the sequence, mark it dirty for the cold tier and, when it
-- is new or was archived, for the thread index. Returns true when the index needs it.
-- The caller sets the TTL after its own writes (a new thread's keys exist only then).
local function touch(h, now)
  local fresh = redis.call('EXISTS', h) == 0
  local archived = redis.call('HEXISTS', h, 'a') == 1
  if fresh or archived then redis.call('HSET', h, 'i', 1) end
  redis.call('HDEL', h, 'a')
  redis.call('HINCRBY', h, 's', 1)
  redis.call('HSET', h, 't', now)
  return redis.call('HEXISTS', h, 'i') == 1
end

local function read_writes(h, ns, id, list)
  local out = {}
  if not list then return out end
  for _, w in ipairs(cjson.decode(list)) do
    local v = redis.call('HGET', h, fld('w', ns, id, w[1], tostring(w[2])))
    if v then out[#out + 1] = { w[1], w[2], w[3], w[4], v } end
  end
  return out
end

-- One stored checkpoint with the values of its channel versions and its writes; nil when
-- absent. A pre-v4 checkpoint also gets its parent's pending sends (ARGV `tasks` channel).
local function read_checkpoint(h, ns, id, tasks)
  local row = redis.call('HMGET', h, fld('c', ns, id), fld('d', ns, id), fld('W', ns, id))
  if not row[1] then return nil end
  local head = cjson.decode(row[1])
  local blobs = {}
  for ch, ver in pairs(head.cv) do
    local v = redis.call('HGET', h, fld('b', ns, ch, tostring(ver)))
    if v then blobs[ch] = v end
  end
  local out = { id = id, ns = ns, head = row[1], d = row[2], blobs = blobs, writes = read_writes(h, ns, id, row[3]) }
  if (head.v or 4) < 4 and head.p then
    local sends = {}
    for _, w in ipairs(read_writes(h, ns, head.p, redis.call('HGET', h, fld('W', ns, head.p)))) do
      if w[3] == tasks then sends[#sends + 1] = w end
    end
    out.sends = sends
  end
  return out
end

-- Reads keep a thread as long as it was last kept (x), when refresh is on.
local function refresh(h, z, on)
  if not on then return end
  local x = tonumber(redis.call('HGET', h, 'x') or '0')
  if x > 0 then
    redis.call('PEXPIRE', h, x)
    redis.call('PEXPIRE', z, x)
  end
end

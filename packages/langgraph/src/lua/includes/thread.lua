-- Shared by the WeftSaver scripts. One LangGraph thread is two keys in one hash slot
-- (both carry the hash tag of the thread, see src/keys.ts):
--   KEYS[1] the thread hash
--     s  write sequence (INCR on every write)      t  last write, epoch ms
--     x  TTL in force, ms (0: none, the cold tier has not archived it yet); set by every write
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

-- Appends a checkpoint's writes to the flat reply `out`: their number, then taskId, idx,
-- channel, taskPath, value for each (only those to channel `only`, when given).
local function push_writes(out, h, ns, id, list, only)
  local at = #out + 1
  out[at] = '0'
  if not list then return end
  local n = 0
  for _, w in ipairs(cjson.decode(list)) do
    if not only or w[3] == only then
      local idx = tostring(w[2])
      local v = redis.call('HGET', h, fld('w', ns, id, w[1], idx))
      if v then
        local k = #out
        out[k + 1], out[k + 2], out[k + 3], out[k + 4], out[k + 5] = w[1], idx, w[3], w[4], v
        n = n + 1
      end
    end
  end
  out[at] = tostring(n)
end

-- Appends one stored checkpoint to the flat reply `out` (fields joined by NUL, read by
-- readRow in src/saver.ts); false when absent:
--   id, ns, header, checkpoint, metadata (the d field holds both, NUL-split),
--   the number of channel values, then channel, value for each (the values of the
--   checkpoint's versions), its writes (push_writes), then '1' and the parent's pending
--   sends (writes to the ARGV `tasks` channel) for a pre-v4 checkpoint, or '0'.
local function read_checkpoint(h, ns, id, tasks, out)
  local row = redis.call('HMGET', h, fld('c', ns, id), fld('d', ns, id), fld('W', ns, id))
  if not row[1] then return false end
  local head = cjson.decode(row[1])
  local chans, fields = {}, {}
  for ch, ver in pairs(head.cv) do
    chans[#chans + 1] = ch
    fields[#fields + 1] = fld('b', ns, ch, tostring(ver))
  end
  local k = #out
  out[k + 1], out[k + 2], out[k + 3], out[k + 4] = id, ns, row[1], row[2]
  local at = k + 5
  local n = 0
  if #fields > 0 then
    local values = redis.call('HMGET', h, unpack(fields))
    for i, ch in ipairs(chans) do
      if values[i] then
        out[at + 2 * n + 1], out[at + 2 * n + 2] = ch, values[i]
        n = n + 1
      end
    end
  end
  out[at] = tostring(n)
  push_writes(out, h, ns, id, row[3])
  if (head.v or 4) < 4 and head.p then
    out[#out + 1] = '1'
    push_writes(out, h, ns, head.p, redis.call('HGET', h, fld('W', ns, head.p)), tasks)
  else
    out[#out + 1] = '0'
  end
  return true
end

-- The start of a read: false when Redis does not hold the thread; else, with refresh on,
-- the thread is kept as long as it was last kept (x, which every write sets) from now.
local function open_read(h, z, refresh)
  local x = redis.call('HGET', h, 'x')
  if not x then return false end
  if refresh and tonumber(x) > 0 then
    redis.call('PEXPIRE', h, x)
    redis.call('PEXPIRE', z, x)
  end
  return true
end

--[[ get: one checkpoint of a thread, or the namespace's latest.
KEYS: [1] thread hash, [2] thread checkpoint zset
ARGV: [1] ns, [2] '1': restart the thread's TTL (refreshOnRead), [3] the pending-sends
      channel (TASKS), [4] checkpoint id (absent: the namespace's latest)
Returns fields joined by NUL (no JSON: nothing to escape, nothing to parse):
  'M' (no thread in Redis) | 'N' (no such checkpoint) | 'T', then the checkpoint row (read_checkpoint)
Invariant: read only; with refresh the thread's TTL starts again. ]]
--@include thread
local h, z = KEYS[1], KEYS[2]
if not open_read(h, z, ARGV[2] == '1') then return 'M' end
local ns = ARGV[1]
local id = ARGV[4] or latest_id(z, ns)
if not id then return 'N' end
local out = { 'T' }
if not read_checkpoint(h, ns, id, ARGV[3], out) then return 'N' end
return table.concat(out, SEP)

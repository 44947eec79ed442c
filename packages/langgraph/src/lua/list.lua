--[[ list: a page of a thread's checkpoints, newest first (per namespace, namespaces in reverse order).
KEYS: [1] thread hash, [2] thread checkpoint zset
ARGV: [1] JSON { ns = ns | false (all), before = id | false, cursor = member | false, count, tasks, refresh }
Returns fields joined by NUL: 'M' (no thread in Redis)
  | 'L', '1' and the cursor (the last member read: its ns, its id) or '0', '', '' (no more), then checkpoint rows (read_checkpoint)
Invariant: read only; pages are cut at members, so a page boundary never skips or repeats one. ]]
--@include thread
local h, z = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
if not open_read(h, z, a.refresh) then return 'M' end
local max, min = '+', '-'
if a.ns then
  max, min = '[' .. a.ns .. SEP .. '\255', '[' .. a.ns .. SEP
  if a.before then max = '(' .. a.ns .. SEP .. a.before end
end
if a.cursor then max = '(' .. a.cursor end
local members = redis.call('ZREVRANGEBYLEX', z, max, min, 'LIMIT', 0, a.count)
local out = { 'L', '0', '', '' }
if #members == a.count then
  local last = members[#members]
  local cut = string.find(last, SEP, 1, true)
  out[2], out[3], out[4] = '1', string.sub(last, 1, cut - 1), string.sub(last, cut + 1)
end
for _, m in ipairs(members) do
  local cut = string.find(m, SEP, 1, true)
  local ns, id = string.sub(m, 1, cut - 1), string.sub(m, cut + 1)
  if not a.before or id < a.before then read_checkpoint(h, ns, id, a.tasks, out) end
end
return table.concat(out, SEP)

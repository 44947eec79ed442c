--[[ list: a page of a thread's checkpoints, newest first (per namespace, namespaces in reverse order).
KEYS: [1] thread hash, [2] thread checkpoint zset
ARGV: [1] JSON { ns = ns | false (all), before = id | false, cursor = member | false, count, tasks, refresh }
Returns JSON: { missing } | { tuples = [row...], cursor = member | false (false: no more) }
Invariant: read only; pages are cut at members, so a page boundary never skips or repeats one. ]]
--@include thread
local h, z = KEYS[1], KEYS[2]
local a = cjson.decode(ARGV[1])
if redis.call('EXISTS', h) == 0 then return cjson.encode({ missing = true }) end
refresh(h, z, a.refresh)
local max, min = '+', '-'
if a.ns then
  max, min = '[' .. a.ns .. SEP .. '\255', '[' .. a.ns .. SEP
  if a.before then max = '(' .. a.ns .. SEP .. a.before end
end
if a.cursor then max = '(' .. a.cursor end
local members = redis.call('ZREVRANGEBYLEX', z, max, min, 'LIMIT', 0, a.count)
local tuples = {}
for _, m in ipairs(members) do
  local cut = string.find(m, SEP, 1, true)
  local ns, id = string.sub(m, 1, cut - 1), string.sub(m, cut + 1)
  if not a.before or id < a.before then
    local row = read_checkpoint(h, ns, id, a.tasks)
    if row then tuples[#tuples + 1] = row end
  end
end
local cursor = false
if #members == a.count then cursor = members[#members] end
return cjson.encode({ tuples = tuples, cursor = cursor })

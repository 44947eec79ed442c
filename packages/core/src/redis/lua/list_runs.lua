-- list_runs: a tenant's runs on this shard that are not archived yet, newest first.
-- KEYS: tenant_runs shard_runs
-- FLAGS: no-writes
-- ARGV[1] JSON { tenant, since, status?, limit }.
-- Returns { runs: [{ dagId, status, createdAt, finishedAt?, counts }] } (at most `limit`).
-- The `runs:<tenant>` index holds a run from submit until its archive is confirmed
-- (release_run), so hot and cold listings never overlap.
--@include core
local a = begin(K, ARGV)
local ids = redis.call('ZREVRANGEBYSCORE', K.tenant_runs, '+inf', a.since)
local out = {}
for _, id in ipairs(ids) do
  if #out >= a.limit then break end
  local run = run_ctx(a.tenant, id)
  local m = redis.call('HMGET', run.meta, 'status', 'createdAt', 'finishedAt', 'pz')
  -- A paused run is running underneath (meta `pz` says since when): listed as paused.
  local status = (m[1] == 'running' and m[4]) and 'paused' or m[1]
  if m[1] and (not a.status or a.status == status) then
    out[#out + 1] = { dagId = id, status = status, createdAt = tonumber(m[2]), finishedAt = tonumber(m[3]),
      counts = cjson.decode(counts_json(run, m[1] ~= 'running')) }
  end
end
return reply({ runs = out })

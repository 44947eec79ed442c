-- state_machine_get: read a tenant's state machine.
-- KEYS[1] machine hash. ARGV[1] JSON {}.
-- Returns { found, json?, version? }.
-- Invariant: a read never writes.
local h = redis.call('HMGET', KEYS[1], 'def', 'ver')
return cjson.encode({ found = h[1] ~= false, json = h[1] or nil, version = tonumber(h[2]) })

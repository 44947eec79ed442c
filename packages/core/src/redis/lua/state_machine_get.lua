-- state_machine_get: read a tenant's state machine.
-- KEYS: machine
-- FLAGS: no-writes
-- ARGV[1] JSON {}.
-- Returns { found, json?, version? }.
-- Invariant: a read never writes.
--@include call
begin(K, ARGV)
local h = redis.call('HMGET', K.machine, 'def', 'ver')
return reply({ found = h[1] ~= false, json = h[1] or nil, version = tonumber(h[2]) })

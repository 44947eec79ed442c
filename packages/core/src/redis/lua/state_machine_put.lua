-- state_machine_put: register (or replace) a tenant's state machine.
-- KEYS: machine
-- ARGV[1] JSON { json: the validated definition as text, now? }.
-- Returns { version, at }.
-- Invariant: the definition was validated by the caller (initial and every transition name
-- known states); its version grows with each replacement.
--@include call
local a = begin(K, ARGV)
local at = tonumber(clock(a))
local ver = redis.call('HINCRBY', K.machine, 'ver', 1)
redis.call('HSET', K.machine, 'def', a.json, 'at', at)
return reply({ version = ver, at = at })

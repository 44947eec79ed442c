-- state_machine_put: register (or replace) a tenant's state machine.
-- KEYS[1] machine hash. ARGV[1] JSON { json: the validated definition as text, now? }.
-- Returns { ok = true, version, at }.
-- Invariant: the definition was validated by the caller (initial and every transition name
-- known states); its version grows with each replacement.
--@include state_entry
local a = cjson.decode(ARGV[1])
local at = state_now(a)
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('HSET', KEYS[1], 'def', a.json, 'at', at)
return cjson.encode({ ok = true, version = ver, at = at })

-- state_name_add: adds one name to a set of names (a namespace to its tenant's list, which
-- lives on another slot than the namespace's keys, so the write cannot do it itself).
-- KEYS: index
-- ARGV[1] JSON { name }.
-- Returns { added: true when it was new }.
-- Invariant: only ever adds; the set is an index for listing, never a source of truth.
--@include call
local a = begin(K, ARGV)
return reply({ added = redis.call('SADD', K.index, a.name) == 1 })

-- Growing a run: nodes and dependencies added while it runs, by a completion (`add`), an
-- extension from a running node, or from outside. Shared by complete, extend and add_nodes.
-- Invariant: the run's graph stays acyclic at every moment. The cycle check runs here, on
-- the run as it is inside the script, so two concurrent additions cannot together close a
-- cycle; an addition is applied whole or not at all (every check precedes every write).
--@include node

-- One addition, as the engine sends it (engine/grow.ts):
--   add = { nodes: [{ id, agent?, wait?, waitOutput?, deps?: [id], input?, policy?, join?: k,
--           onFailure? }], deps?: [[target, [id...]]], maxNodes }
--   (a wait node has no agent; `wait` and `waitOutput` as submit takes them, includes/wait.lua).
--   by = { node?, attempt?, actor } (node and attempt when a node of the run adds).
-- Returns nil and the ids of new (and newly ready) nodes, or an error reply table. A wait
-- node whose deps are met starts waiting instead (not ready), so the script needs the
-- shard's waits and wait_keys keys.
local BAD = { failed = true, skipped = true, cancelled = true }
local NONE = {} -- a node without deps (read only)
-- Loops over the addition's own lists are numeric: ipairs costs a call per step, and an
-- addition may bring 10,000 nodes and deps.

local function grow_check(run, add, by)
  local m = redis.call('HMGET', run.meta, 'status', 'total')
  if not m[1] then return run_not_found(run.id) end
  if m[1] ~= 'running' then
    return { err = 'conflict', current = { runStatus = m[1] },
      message = 'run ' .. run.id .. ' has ended (' .. m[1] .. '); redrive or rewind it to add work' }
  end
  local nodes = add.nodes
  if tonumber(m[2]) + #nodes > add.maxNodes then
    return { err = 'payload_too_large', field = 'nodes',
      message = 'run ' .. run.id .. ' has ' .. m[2] .. ' nodes; adding ' .. #nodes .. ' would pass the limit of ' .. add.maxNodes }
  end
  -- Ids already in the run: from `order` (every node of the run, one GET) when the run has
  -- no more nodes than the addition, else one EXISTS per new node.
  local old
  if tonumber(m[2]) <= #nodes then
    old = {}
    for _, id in ipairs(split(redis.call('GET', run.k .. 'order'), ',')) do old[id] = true end
  end
  local new = {}
  for i = 1, #nodes do
    local n = nodes[i]
    local id = n.id
    if old and old[id] or not old and redis.call('EXISTS', run.n .. id) == 1 then
      return { err = 'conflict', field = 'nodes[' .. (i - 1) .. '].id', current = { nodeId = id },
        message = 'nodes[' .. (i - 1) .. '].id "' .. id .. '" is already a node of run ' .. run.id }
    end
    new[id] = n
  end
  -- Status of an existing node (false when there is none), read once per node.
  local st = {}
  local function status(id)
    local s = st[id]
    if s == nil then
      s = redis.call('HGET', run.n .. id, 's') or false
      st[id] = s
    end
    return s
  end
  -- Edges the addition creates, as children lists: what the cycle check walks besides `c`,
  -- and the children grow_apply writes. A node's one child is kept as its id, a list from
  -- the second on (a target's thousands of new deps have one child each: no table apiece).
  local kids = {}
  local function edge(from, to)
    local l = kids[from]
    if not l then
      kids[from] = to
    elseif type(l) == 'string' then
      kids[from] = { l, to }
    else
      l[#l + 1] = to
    end
  end
  for i = 1, #nodes do
    local n = nodes[i]
    local bad = 0
    local deps = n.deps or NONE
    for j = 1, #deps do
      local d = deps[j]
      if not new[d] then
        local s = status(d)
        if not s then
          return { err = 'validation', field = 'nodes[' .. (i - 1) .. '].deps[' .. (j - 1) .. ']',
            message = 'nodes[' .. (i - 1) .. '].deps[' .. (j - 1) .. '] "' .. d .. '" is not a node of run ' .. run.id }
        end
        if BAD[s] then bad = bad + 1 end
      end
      edge(d, n.id)
    end
    -- A dep that will never succeed: tolerated only by a join that can still be met.
    if bad > 0 and (not n.join or #n.deps - n.join < bad) then
      return { err = 'conflict', field = 'nodes[' .. (i - 1) .. '].deps', current = { nodeId = n.id },
        message = 'nodes[' .. (i - 1) .. '] "' .. n.id .. '" depends on ' .. bad .. ' node(s) that will never succeed; its join cannot be met' }
    end
  end
  local targets = add.deps or {}
  for t, pair in ipairs(targets) do
    local target, ds = pair[1], pair[2]
    local field = 'deps.' .. target
    if new[target] then
      return { err = 'validation', field = field, message = field .. ': "' .. target .. '" is a new node; give it its deps in nodes' }
    end
    local s = status(target)
    if not s then return { err = 'validation', field = field, message = field .. ': "' .. target .. '" is not a node of run ' .. run.id } end
    if s ~= 'pending' then
      return { err = 'conflict', field = field, current = { nodeId = target, status = s },
        message = field .. ': node ' .. target .. ' is ' .. s .. '; only a pending node can gain dependencies' }
    end
    local has = {}
    for _, d in ipairs(split(redis.call('HGET', run.n .. target, 'd'), ',')) do has[d] = true end
    local j = redis.call('HGET', run.n .. target, 'j')
    -- The field of a dep is named only when it is at fault (thousands of deps, one error).
    local function dep_field(k) return field .. '[' .. (k - 1) .. ']' end
    for k = 1, #ds do
      local d = ds[k]
      if d == target then return { err = 'validation', field = dep_field(k), message = dep_field(k) .. ': node ' .. target .. ' cannot depend on itself' } end
      if has[d] then return { err = 'validation', field = dep_field(k), message = dep_field(k) .. ': "' .. d .. '" is already a dependency of ' .. target } end
      has[d] = true
      if not new[d] then
        local ds_ = status(d)
        if not ds_ then return { err = 'validation', field = dep_field(k), message = dep_field(k) .. ': "' .. d .. '" is not a node of run ' .. run.id } end
        if BAD[ds_] and not j then
          return { err = 'conflict', field = dep_field(k), current = { nodeId = d, status = ds_ },
            message = dep_field(k) .. ': node ' .. d .. ' is ' .. ds_ .. ' and will never succeed; ' .. target .. ' would never run' }
        end
      end
      edge(d, target)
    end
  end
  -- Cycle check: an addition closes a cycle only through a dependency it gives an existing
  -- node (a new node has no children yet outside the addition). So walk from each target
  -- along children, old (`c`) and new, looking for one of its new deps. The walk stays in
  -- the pending part of the run: everything downstream of a pending node is pending.
  for _, pair in ipairs(targets) do
    local target, ds = pair[1], pair[2]
    local want = {}
    for k = 1, #ds do want[ds[k]] = true end
    local from = { [target] = false }
    local stack = { target }
    while #stack > 0 do
      local x = table.remove(stack)
      local cs = new[x] and {} or split(redis.call('HGET', run.n .. x, 'c'), ',')
      local k = kids[x]
      if type(k) == 'string' then cs[#cs + 1] = k elseif k then for _, c in ipairs(k) do cs[#cs + 1] = c end end
      for _, c in ipairs(cs) do
        if from[c] == nil then
          from[c] = x
          if want[c] then
            -- c -> target -> ... -> x -> c
            local back = {}
            local y = c
            while y do back[#back + 1] = y; y = from[y] end
            local path = { c }
            for i = #back, 1, -1 do path[#path + 1] = back[i] end
            local shown = table.concat(path, ' -> ')
            if #path > 100 then shown = table.concat(path, ' -> ', 1, 50) .. ' -> ... -> ' .. table.concat(path, ' -> ', #path - 49) end
            return { err = 'validation', field = 'deps.' .. target, details = { cycle = path },
              message = 'the addition would close a cycle: ' .. shown }
          end
          stack[#stack + 1] = c
        end
      end
    end
  end
  return nil, st, kids, new
end

-- Writes an addition grow_check accepted. `st` = node statuses it read, `children` = the
-- edges it found (new nodes' deps and the targets' new deps, as children lists: an id
-- alone or a table of them), `hot` = the new nodes by id (grow_check's). Returns the new
-- nodes' ids and the ids that became ready.
local function grow_apply(run, add, by, st, children, hot, at, pushes)
  local nodes = add.nodes
  local ab = by.node and (by.node .. '|' .. by.attempt) or ('|' .. by.actor)
  local actor = by.node or by.actor
  local ids = {}
  local ready = {}
  for i = 1, #nodes do ids[i] = nodes[i].id end
  -- node.added carries what the log needs to stand alone: agent, deps, join, who added it.
  local who = by.node and ('{"node":"' .. by.node .. '","attempt":' .. by.attempt .. '}') or ('{"actor":"' .. by.actor .. '"}')
  local added_by = ',"addedBy":' .. who .. '}'
  -- Numbers go out as text made once per call: Lua formats a number anew for every
  -- concatenation and every redis.call argument, and 10,000 new nodes share a few values.
  local text = {}
  local function num(x)
    local t = text[x]
    if not t then t = tostring(x); text[x] = t end
    return t
  end
  local zero = num(0)
  -- New nodes whose deps are met: an agent's is written `ready` at once (announced below,
  -- after every node and dep is written); a wait node's starts waiting through make_ready.
  local open = {}
  local agents, seen = {}, {}
  -- One field list for every HSET: its first k entries are the node's.
  local f = {}
  for i = 1, #nodes do
    local n = nodes[i]
    local id, agent, deps = n.id, n.agent, n.deps or NONE
    if agent and not seen[agent] then seen[agent] = true; agents[#agents + 1] = agent end
    local succeeded, bad = 0, 0
    for j = 1, #deps do
      local d = deps[j]
      local s = hot[d] and 'pending' or st[d]
      if s == 'succeeded' then succeeded = succeeded + 1 elseif BAD[s] then bad = bad + 1 end
    end
    local w = (n.join or #deps) - succeeded
    if w <= 0 then open[#open + 1] = n end
    f[1] = 's'; f[2] = (w <= 0 and agent) and 'ready' or 'pending'; f[3] = 'ab'; f[4] = ab; f[5] = 'w'; f[6] = num(w)
    local k = 6
    if agent then f[k + 1] = 'g'; f[k + 2] = agent; k = k + 2 end
    if w <= 0 and agent then f[k + 1] = 'l'; f[k + 2] = ready_mark(run, at); k = k + 2 end
    if n.wait then f[k + 1] = 'W'; f[k + 2] = n.wait; k = k + 2 end
    if n.waitOutput then f[k + 1] = 'wo'; f[k + 2] = n.waitOutput; k = k + 2 end
    if #deps > 0 then f[k + 1] = 'd'; f[k + 2] = table.concat(deps, ','); k = k + 2 end
    local c = children[id]
    if c then f[k + 1] = 'c'; f[k + 2] = type(c) == 'string' and c or table.concat(c, ','); k = k + 2 end
    if n.input then f[k + 1] = 'i'; f[k + 2] = n.input; k = k + 2 end
    if n.policy then f[k + 1] = 'p'; f[k + 2] = n.policy; k = k + 2 end
    if n.join then f[k + 1] = 'j'; f[k + 2] = n.join; f[k + 3] = 'q'; f[k + 4] = #deps - n.join - bad; k = k + 4 end
    if n.onFailure then f[k + 1] = 'f'; f[k + 2] = n.onFailure; k = k + 2 end
    redis.call('HSET', run.n .. id, unpack(f, 1, k))
    append_event(run, 'node.added', id, zero, actor, at, nil, (agent and ('{"agent":"' .. agent .. '"') or '{"wait":true') .. ',"deps":' ..
      (#deps > 0 and ('["' .. table.concat(deps, '","') .. '"]') or '[]') .. (n.join and (',"join":' .. n.join) or '') .. added_by)
  end
  ag_register(run.tenant, agents)
  -- Existing nodes gain children (new nodes depending on them) and, targets, deps.
  for from, l in pairs(children) do
    if not hot[from] then
      local c = redis.call('HGET', run.n .. from, 'c')
      l = type(l) == 'string' and l or table.concat(l, ',')
      redis.call('HSET', run.n .. from, 'c', (c and c ~= '') and (c .. ',' .. l) or l)
    end
  end
  for _, pair in ipairs(add.deps or {}) do
    local target, ds = pair[1], pair[2]
    local t = redis.call('HMGET', run.n .. target, 'd', 'j', 'g', 'a')
    local more, bad, succeeded = 0, 0, 0
    for k = 1, #ds do
      local d = ds[k]
      local s = hot[d] and 'pending' or st[d]
      if s == 'succeeded' then succeeded = succeeded + 1 elseif BAD[s] then bad = bad + 1 else more = more + 1 end
    end
    local d = (t[1] and t[1] ~= '') and (t[1] .. ',' .. table.concat(ds, ',')) or table.concat(ds, ',')
    local w
    if t[2] then
      -- A join needs k successes whatever the count of deps: more deps, more tolerance.
      -- (Never an increment of -0: Lua sends it as "-0", which Redis refuses as an integer.)
      w = succeeded > 0 and redis.call('HINCRBY', run.n .. target, 'w', -succeeded) or tonumber(redis.call('HGET', run.n .. target, 'w'))
      redis.call('HINCRBY', run.n .. target, 'q', #ds - bad)
      redis.call('HSET', run.n .. target, 'd', d)
    else
      w = redis.call('HINCRBY', run.n .. target, 'w', more)
      redis.call('HSET', run.n .. target, 'd', d)
    end
    append_event(run, 'node.deps_added', target, tonumber(t[4]) or 0, actor, at, nil, cjson.encode({ deps = ds }))
    if w <= 0 and make_ready(run, target, 'pending', t[3], tonumber(t[4]) or 0, at, 'engine', pushes) then
      ready[#ready + 1] = target
    end
  end
  if #ids > 0 then
    redis.call('APPEND', run.k .. 'order', ',' .. table.concat(ids, ','))
    redis.call('HINCRBY', run.meta, 'total', #nodes)
    remaining_add(run, #nodes)
  end
  for i = 1, #open do
    local n = open[i]
    if n.agent then
      announce_ready(run, n.id, 'pending', n.agent, zero, at, 'engine', pushes)
      ready[#ready + 1] = n.id
    elseif make_ready(run, n.id, 'pending', nil, 0, at, 'engine', pushes) then
      ready[#ready + 1] = n.id
    end
  end
  return ids, ready
end

-- Checks and applies one addition: nil, ids, ready on success; an error reply table otherwise.
local function grow(run, add, by, at, pushes)
  local e, st, children, new = grow_check(run, add, by)
  if e then return e end
  local ids, ready = grow_apply(run, add, by, st, children, new, at, pushes)
  return nil, ids, ready
end

-- Field names in replies are relative to the addition; a completion's sits under `add.`.
local function grow_error(e, at)
  if at and e.field then
    e.field = at .. e.field
    if string.sub(e.message, 1, 5) == 'nodes' or string.sub(e.message, 1, 5) == 'deps.' then e.message = at .. e.message end
  end
  return e
end

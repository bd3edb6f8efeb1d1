--[[
  The scheduler's one move: due delayed jobs go to their queues, atomically (a job is in its
  delayed list or in its queue, never both, never neither), only while the caller holds the
  scheduler lock (fencing: a deposed leader moves nothing).

  A second's list moves as resque-scheduler moves it (from the head, every job, once its second
  has begun), except while <ns>:baton:delayed_at:<secs> holds jobs due later in that second:
  then only those whose time has come move (every copy of each); the second's other jobs move
  once none of those is left.

  Input:
    KEYS[1] <ns>:resque_scheduler_master_lock
    KEYS[2] <ns>:delayed_queue_schedule
    ARGV[1] key prefix (<ns>:)
    ARGV[2] the caller's lock token ('' moves without the lock: tests and tools)
    ARGV[3] the most jobs to move in this call
    ARGV[4] failed_at for a delayed job that cannot be enqueued (no queue or class)

  Output: {moved, more, next, now}
    moved = jobs moved; -1 the caller does not hold the lock (nothing moved)
    more  = 1 when due jobs are left (the limit was reached): call again
    next  = the epoch ms the earliest job left is due (-1: none)
    now   = Redis TIME in epoch ms (the clock every due time is compared with)
]]
--- @include "json-fields"

local p = ARGV[1]
if ARGV[2] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[2] then return { -1, 0, -1, 0 } end
local limit = tonumber(ARGV[3])
local t = redis.call('TIME')
local secs = tonumber(t[1])
local now = secs * 1000 + math.floor(tonumber(t[2]) / 1000)
local moved = 0
local woken = {}

local function enqueue(item)
  local f = json_fields(item)
  local queue
  if f and f.queue then
    local ok, q = pcall(cjson.decode, f.queue)
    if ok and type(q) == 'string' and q ~= '' then queue = q end
  end
  if not queue or not f.class or string.sub(f.class, 1, 1) ~= '"' then
    local payload = item
    if not f then payload = cjson.encode(item) end
    redis.call('RPUSH', p .. 'failed', '{"failed_at":' .. cjson.encode(ARGV[4]) .. ',"payload":' .. payload ..
      ',"exception":"ArgumentError","error":"delayed job without a queue or class","backtrace":[],"worker":"scheduler","queue":""}')
    return
  end
  local job = '{"class":' .. f.class .. ',"args":' .. (f.args or '[]')
  if f.baton_retry then job = job .. ',"baton_retry":' .. f.baton_retry end
  redis.call('RPUSH', p .. 'queue:' .. queue, job .. '}')
  if not woken[queue] then
    woken[queue] = true
    redis.call('SADD', p .. 'queues', queue)
    redis.call('PUBLISH', p .. 'baton:enqueued', queue)
  end
end

local function move(ts, item, copies)
  redis.call('SREM', p .. 'timestamps:' .. item, 'delayed:' .. ts)
  for _ = 1, copies do enqueue(item) end
  moved = moved + copies
end

local more = 0
while true do
  if moved >= limit then
    more = 1
    break
  end
  local ts = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', secs, 'LIMIT', 0, 1)[1]
  if not ts then break end
  local list = p .. 'delayed:' .. ts
  local at = p .. 'baton:delayed_at:' .. ts
  local pending = redis.call('ZCARD', at)
  local done = true
  if pending > 0 then
    -- A second already over: everything in it is due, whatever its milliseconds say.
    local upto = now
    if tonumber(ts) < secs then upto = '+inf' end
    local due = redis.call('ZRANGEBYSCORE', at, '-inf', upto, 'LIMIT', 0, limit - moved)
    for _, item in ipairs(due) do
      redis.call('ZREM', at, item)
      local copies = redis.call('LREM', list, 0, item)
      -- 0: moved or removed by another scheduler (Ruby's, node-resque's) meanwhile.
      if copies > 0 then move(ts, item, copies) end
    end
    done = #due == pending
  else
    local items = redis.call('LPOP', list, limit - moved)
    if items then
      for _, item in ipairs(items) do move(ts, item, 1) end
    end
  end
  if redis.call('LLEN', list) == 0 then
    redis.call('DEL', list, at)
    redis.call('ZREM', KEYS[2], ts)
  elseif not done then
    if moved < limit then break end
  end
end

local nxt = -1
if more == 0 then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if first then
    nxt = tonumber(first) * 1000
    local soonest = redis.call('ZRANGE', p .. 'baton:delayed_at:' .. first, 0, 0, 'WITHSCORES')[2]
    if soonest and tonumber(soonest) > nxt then nxt = tonumber(soonest) end
  end
end
return { moved, more, string.format('%d', nxt), string.format('%d', now) }

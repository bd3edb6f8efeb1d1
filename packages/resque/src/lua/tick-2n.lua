--[[
  The runs (ticks) of one recurring job that are due, each enqueued exactly once across every
  scheduler and restart: only by the lock holder, only ticks later than the last one enqueued,
  only if the tick's key is new (SET NX). The caller passes the ticks of the catch-up window,
  oldest first (normally one: the latest); a leader that took over after a hand-over or a crash
  enqueues the ticks its predecessor missed, and none twice. A name seen for the first time
  records its latest tick without enqueueing (a new entry starts with its next tick).

  Input (2 keys, then 1 key per tick, tick i = 1..n, oldest first):
    KEYS[1] <ns>:resque_scheduler_master_lock
    KEYS[2] <ns>:baton:schedule:last        (hash name → last tick, epoch ms)
    KEYS[2+i] <ns>:baton:schedule:tick:<name>:<tick i>
    ARGV[1] key prefix (<ns>:)
    ARGV[2] the caller's lock token
    ARGV[3] name
    ARGV[4] TTL of the tick keys, ms
    ARGV[5] queue
    ARGV[6] the job: {"class":…,"args":[…]}
    ARGV[6+i] tick i, epoch ms

  Output: the ticks enqueued (oldest first; empty: none was due, or a new name); -1 not the lock holder
]]
local p = ARGV[1]
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return -1 end
local n = #KEYS - 2
if n < 1 then return {} end
local newest = tonumber(ARGV[6 + n])
local last = redis.call('HGET', KEYS[2], ARGV[3])
if not last then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[6 + n])
  return {}
end
last = tonumber(last)
local done = {}
for i = 1, n do
  local tick = tonumber(ARGV[6 + i])
  if tick > last and redis.call('SET', KEYS[2 + i], '1', 'NX', 'PX', ARGV[4]) then
    redis.call('RPUSH', p .. 'queue:' .. ARGV[5], ARGV[6])
    done[#done + 1] = tick
  end
end
if newest > last then redis.call('HSET', KEYS[2], ARGV[3], ARGV[6 + n]) end
if #done > 0 then
  redis.call('SADD', p .. 'queues', ARGV[5])
  redis.call('PUBLISH', p .. 'baton:enqueued', ARGV[5])
end
return done

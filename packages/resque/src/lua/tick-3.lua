--[[
  One tick of a recurring job, enqueued exactly once across every scheduler and restart: only
  by the lock holder, only if the tick's key is new (SET NX) and the tick is later than the last
  one enqueued. A name seen for the first time records its tick without enqueueing (a new entry
  starts with its next tick).

  Input:
    KEYS[1] <ns>:resque_scheduler_master_lock
    KEYS[2] <ns>:baton:schedule:last        (hash name → last tick, epoch ms)
    KEYS[3] <ns>:baton:schedule:tick:<name>:<tick>
    ARGV[1] key prefix (<ns>:)
    ARGV[2] the caller's lock token
    ARGV[3] name
    ARGV[4] tick, epoch ms
    ARGV[5] TTL of the tick key, ms
    ARGV[6] queue
    ARGV[7] the job: {"class":…,"args":[…]}

  Output: 1 enqueued; 0 not (already enqueued, older than the last, or a new name); -1 not the lock holder
]]
local p = ARGV[1]
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return -1 end
local tick = tonumber(ARGV[4])
local last = redis.call('HGET', KEYS[2], ARGV[3])
if not last then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  return 0
end
if tonumber(last) >= tick then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[5]) then return 0 end
redis.call('RPUSH', p .. 'queue:' .. ARGV[6], ARGV[7])
redis.call('SADD', p .. 'queues', ARGV[6])
redis.call('PUBLISH', p .. 'baton:enqueued', ARGV[6])
return 1

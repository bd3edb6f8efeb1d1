--[[
  The scheduler's leader lock (resque-scheduler's master lock key) with a fencing token.

  Input:
    KEYS[1] <ns>:resque_scheduler_master_lock
    ARGV[1] 'acquire' | 'renew' | 'release'
    ARGV[2] the caller's token (unique per acquisition)
    ARGV[3] TTL in ms (acquire, renew)
    ARGV[4] <ns>:baton:scheduler (release publishes 'released' on it)

  Output: 1 the caller holds the lock (acquire, renew) or released it (release); 0 it does not;
          acquire that failed: -1 - the lock's remaining TTL in ms (when to try again)
]]
local held = redis.call('GET', KEYS[1]) == ARGV[2]
if ARGV[1] == 'release' then
  if not held then return 0 end
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[4], 'released')
  return 1
end
if held then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
if ARGV[1] == 'renew' then return 0 end
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return -1 - math.max(redis.call('PTTL', KEYS[1]), 0)

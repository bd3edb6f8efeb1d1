--[[
  Keep the leases of live worker slots from outside their process (a master that sees the
  process alive while its event loop is blocked): extend each owner lock that still exists, and
  refresh the Resque heartbeat of each slot still registered. A lock that is gone is never made
  again: the slot may have been recovered already, and its jobs may run elsewhere. A held lock's
  value becomes 'held <id>': the worker, reading it back when it renews, learns that its leases
  are kept from outside and, after its loop was blocked, asks Redis before it gives a job up.

  Input (1 key per slot, slot i = 1..n):
    KEYS[i] owner lock of slot i (<ns>:baton:lock:<id>)
    ARGV[1] key prefix (<ns>:)
    ARGV[2] lock lifetime in ms: a lock that would expire sooner now expires this long from now
            (one that lasts longer keeps its expiry; one without expiry keeps none)
    ARGV[3] heartbeat (Redis TIME as YYYY-MM-DDTHH:MM:SS+00:00)
    ARGV[3+i] worker id of slot i

  Output: the worker ids whose owner lock was gone (nothing written for them)
]]
local p = ARGV[1]
local ttl = tonumber(ARGV[2])
local gone = {}
for i = 1, #KEYS do
  local id = ARGV[3 + i]
  local left = redis.call('PTTL', KEYS[i])
  if left == -2 then
    gone[#gone + 1] = id
  else
    if left >= 0 and left < ttl then left = ttl end
    if left >= 0 then
      redis.call('SET', KEYS[i], 'held ' .. id, 'PX', left)
    else
      redis.call('SET', KEYS[i], 'held ' .. id)
    end
    if redis.call('SISMEMBER', p .. 'workers', id) == 1 then
      redis.call('HSET', p .. 'workers:heartbeat', id, ARGV[3])
    end
  end
end
return gone

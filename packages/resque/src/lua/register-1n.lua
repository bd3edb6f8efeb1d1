--[[
  Register worker slots as Ruby Resque's heartbeat! and register_worker do (the same keys and
  bytes, in its order: HSET workers:heartbeat <id> <Redis TIME>, SADD workers, SET
  worker:<id>:started), plus baton's id set and each slot's owner lock. One script instead of a
  MULTI: a write Redis refuses (NOREPLICAS under min-replicas-to-write, READONLY on a demoted
  primary) fails the call with that error before anything is written (a MULTI ends in EXECABORT),
  and it is one round trip with the heartbeat's TIME read inside.

  Input (1 key per slot, slot i = 1..n):
    KEYS[i] owner lock of slot i (<ns>:baton:lock:<id>)
    ARGV[1] key prefix (<ns>:)
    ARGV[2] owner-lock lifetime in ms
    ARGV[3] started: Time#to_s of the worker's clock (YYYY-MM-DD HH:MM:SS +0000)
    ARGV[3+i] worker id of slot i

  Output: the heartbeat written (YYYY-MM-DDTHH:MM:SS+00:00)
]]
--- @include "heartbeat"

local p = ARGV[1]
local now = heartbeat_now()
for i = 1, #KEYS do
  local id = ARGV[3 + i]
  redis.call('HSET', p .. 'workers:heartbeat', id, now)
  redis.call('SADD', p .. 'workers', id)
  redis.call('SET', p .. 'worker:' .. id .. ':started', ARGV[3])
  redis.call('SADD', p .. 'baton:workers', id)
  redis.call('SET', KEYS[i], id, 'PX', ARGV[2])
end
return now

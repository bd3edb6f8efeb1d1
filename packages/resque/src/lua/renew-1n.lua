--[[
  Renew the owner locks of a process's slots and, when due, their Resque heartbeats (HSET
  workers:heartbeat <id> <Redis TIME>, as Ruby's heartbeat! writes it), reading back what each
  lock and registration was. One script instead of a MULTI: a write Redis refuses fails the call
  with that error before anything is written (a MULTI ends in EXECABORT), in one round trip.

  Input (1 key per slot, slot i = 1..n):
    KEYS[i] owner lock of slot i (<ns>:baton:lock:<id>)
    ARGV[1] key prefix (<ns>:)
    ARGV[2] owner-lock lifetime in ms
    ARGV[3] '1': write the heartbeat of every slot too; '': not now
    ARGV[3+i] worker id of slot i

  Output: for each slot i, two entries (flat):
    [2i-1] the lock's value before (nil: it had lapsed; 'held <id>': a master keeps it, hold-1n.lua)
    [2i]   1 while the slot is registered in <ns>:workers, 0 once it is not (recovered, pruned)
]]
--- @include "heartbeat"

local p = ARGV[1]
local out = {}
for i = 1, #KEYS do
  local id = ARGV[3 + i]
  out[2 * i - 1] = redis.call('SET', KEYS[i], id, 'PX', ARGV[2], 'GET')
  out[2 * i] = redis.call('SISMEMBER', p .. 'workers', id)
end
if ARGV[3] == '1' then
  local now = heartbeat_now()
  for i = 1, #KEYS do
    redis.call('HSET', p .. 'workers:heartbeat', ARGV[3 + i], now)
  end
end
return out

--[[
  Unregister worker slots that hold no job as Ruby Resque's unregister_worker does (SREM workers,
  DEL worker:<id>, worker:<id>:started and the slot's stats, HDEL workers:heartbeat), plus baton's
  owner lock and id set. One script instead of a MULTI: a write Redis refuses fails the call with
  that error before anything is written (a MULTI ends in EXECABORT).

  Input (1 key per slot, slot i = 1..n):
    KEYS[i] owner lock of slot i (<ns>:baton:lock:<id>)
    ARGV[1] key prefix (<ns>:)
    ARGV[1+i] worker id of slot i

  Output: the number of slots unregistered
]]
local p = ARGV[1]
for i = 1, #KEYS do
  local id = ARGV[1 + i]
  redis.call('SREM', p .. 'workers', id)
  redis.call('DEL', p .. 'worker:' .. id, p .. 'worker:' .. id .. ':started', p .. 'stat:processed:' .. id, p .. 'stat:failed:' .. id, KEYS[i])
  redis.call('HDEL', p .. 'workers:heartbeat', id)
  redis.call('SREM', p .. 'baton:workers', id)
end
return #KEYS

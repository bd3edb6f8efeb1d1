--[[
  Give a reserved job back: put it at the HEAD of its queue (a fast stop interrupted it).

  Input:
    KEYS[1] inflight list of the slot
    KEYS[2] Resque working record
    KEYS[3] owner lock of the slot
    ARGV[1] key prefix (<ns>:)
    ARGV[2] the job payload exactly as reserved

  Output:
     1  the job is back at the head of queue:<queue>
    -1  the slot no longer holds this job (someone recovered it already)
]]
if redis.call('LINDEX', KEYS[1], 1) ~= ARGV[2] then
  return -1
end
local queue = redis.call('LINDEX', KEYS[1], 0)
redis.call('LPUSH', ARGV[1] .. 'queue:' .. queue, ARGV[2])
redis.call('SADD', ARGV[1] .. 'queues', queue)
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('PUBLISH', ARGV[1] .. 'baton:enqueued', queue)
return 1

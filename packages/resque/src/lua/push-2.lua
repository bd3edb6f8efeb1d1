--[[
  Enqueue one job as Ruby Resque's push_to_queue does (SADD queues + RPUSH queue:<q>, the same
  keys and bytes), then wake idle baton workers. One script instead of a MULTI: after a
  failover a MULTI half-queued on a demoted primary ends in EXECABORT, and in Redis Cluster a
  script is one unit on the namespace's slot.

  Input:
    KEYS[1] set of queue names   (<ns>:queues)
    KEYS[2] the queue's list     (<ns>:queue:<q>)
    ARGV[1] queue name
    ARGV[2] payload, as is
    ARGV[3] wake-up channel      (<ns>:baton:enqueued)

  Output: the queue's length after the push
]]
redis.call('SADD', KEYS[1], ARGV[1])
local n = redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[1])
return n

--[[
  Acknowledge the job a slot reserved: the job is done (or failed) and leaves the inflight list.

  Input:
    KEYS[1] inflight list of the slot
    KEYS[2] Resque working record
    KEYS[3] owner lock of the slot
    ARGV[1] key prefix (<ns>:)
    ARGV[2] worker id
    ARGV[3] the job payload exactly as reserved
    ARGV[4] failure record (JSON) to RPUSH onto <ns>:failed, or '' on success

  Output:
     1  acknowledged: processed stats counted (and failed ones, with the failure record)
    -1  the slot no longer holds this job (it was recovered while this worker was frozen):
        nothing is written, the job is someone else's now
]]
if redis.call('LINDEX', KEYS[1], 1) ~= ARGV[3] then
  return -1
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('INCRBY', ARGV[1] .. 'stat:processed', 1)
redis.call('INCRBY', ARGV[1] .. 'stat:processed:' .. ARGV[2], 1)
if ARGV[4] ~= '' then
  redis.call('RPUSH', ARGV[1] .. 'failed', ARGV[4])
  redis.call('INCRBY', ARGV[1] .. 'stat:failed', 1)
  redis.call('INCRBY', ARGV[1] .. 'stat:failed:' .. ARGV[2], 1)
end
return 1

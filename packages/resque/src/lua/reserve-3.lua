--[[
  reserve-3n.lua for exactly one slot (concurrency 1, the hot path): the same input layout,
  output and writes, without the per-slot tables and loops, which cost about a tenth of the
  script's run time at one slot.

  Input:
    KEYS[1] inflight list of the slot  (<ns>:baton:inflight:<id>), holding [queue, payload]
    KEYS[2] Resque working record      (<ns>:worker:<id>)
    KEYS[3] owner lock of the slot     (<ns>:baton:lock:<id>)
    ARGV[1] key prefix (<ns>:)
    ARGV[2] run_at (YYYY-MM-DDTHH:MM:SSZ)
    ARGV[3] owner lock TTL in ms, set when the slot gets a job; '' to leave the lock alone
            (the caller renewed it recently enough that it outlives this job's start)
    ARGV[4] q, the number of queues to reserve from (0: acknowledge only)
    ARGV[5 .. 4+q] queue names, highest priority first
    ARGV[5+q] worker id
    ARGV[6+q] payload of the finished job to acknowledge, exactly as reserved, or '' for none
    ARGV[7+q] its failure record (JSON, RPUSHed onto <ns>:failed), or '' if it succeeded

  Output: {ack, next, payload}
    ack  = 1 acknowledged (stat:processed counted; on failure also the record and stat:failed),
           0 nothing to acknowledge,
          -1 the slot no longer holds that job (recovered while this worker was frozen):
             nothing written and nothing reserved; the job is someone else's now
    next = the queue of the next job, moved from the head of queue:<queue> into the inflight
           list (payload = that job; the working record is set, and the owner lock if asked),
          -1 pause-all-workers is "true"
          -2 the slot still holds an unacknowledged job
           0 nothing reserved (every queue empty, or acknowledge only)
]]
--- @include "delayed"
--- @include "ack"
--- @include "paused-all"
--- @include "working-record"

local p = ARGV[1]
local nq = tonumber(ARGV[4])
local id, done = ARGV[5 + nq], ARGV[6 + nq]
local ack = 0
if done ~= '' then
  if redis.call('LINDEX', KEYS[1], 1) ~= done then
    return { -1, 0, '' }
  end
  redis.call('DEL', KEYS[1])
  local failed = push_failure(p, ARGV[7 + nq])
  count_acked(p, ':' .. id, 1, failed)
  count_acked(p, '', 1, failed)
  ack = 1
end
local next = 0
if nq > 0 then
  -- (just acknowledged: the slot is known to be empty)
  if ack == 0 and redis.call('LLEN', KEYS[1]) > 0 then
    return { 0, -2, '' }
  end
  if paused_all(p) then
    next = -1
  else
    for i = 5, 4 + nq do
      local queue = ARGV[i]
      local job = redis.call('LPOP', p .. 'queue:' .. queue)
      if job then
        redis.call('RPUSH', KEYS[1], queue, job)
        redis.call('SET', KEYS[2], working_record(working_head(queue, ARGV[2]), job))
        if ARGV[3] ~= '' then redis.call('SET', KEYS[3], id, 'PX', ARGV[3]) end
        return { ack, queue, job }
      end
    end
  end
end
-- Acknowledged and nothing new: the working record goes too.
if ack == 1 then redis.call('DEL', KEYS[2]) end
return { ack, next, '' }

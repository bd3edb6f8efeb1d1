--[[
  Acknowledge a slot's finished job (optional) and reserve its next one, atomically, in queue
  priority order: one round trip per job.

  Input:
    KEYS[1] inflight list of the slot  (<ns>:baton:inflight:<id>), holding [queue, payload]
    KEYS[2] Resque working record      (<ns>:worker:<id>)
    KEYS[3] owner lock of the slot     (<ns>:baton:lock:<id>)
    ARGV[1] key prefix (<ns>:)
    ARGV[2] run_at (YYYY-MM-DDTHH:MM:SSZ)
    ARGV[3] worker id
    ARGV[4] owner lock TTL in ms
    ARGV[5] payload of the finished job to acknowledge, exactly as reserved, or '' for none
    ARGV[6] its failure record (JSON, RPUSHed onto <ns>:failed), or '' if it succeeded
    ARGV[7..] queue names to reserve from, highest priority first (none: acknowledge only)

  Output: {ack, ...}
    ack = 1 acknowledged (stat:processed counted; on failure also the record and stat:failed),
          0 nothing to acknowledge,
         -1 the slot no longer holds that job (recovered while this worker was frozen):
            nothing written and nothing reserved; the job is someone else's now
    then: queue, payload   the next job, moved from the head of queue:<queue> into the
                           inflight list; the working record and the owner lock are set
          -1               pause-all-workers is "true"
          -2               the slot still holds an unacknowledged job
          (nothing)        every queue is empty
]]
local p = ARGV[1]
local ack = 0
if ARGV[5] ~= '' then
  if redis.call('LINDEX', KEYS[1], 1) ~= ARGV[5] then
    return {-1}
  end
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('INCRBY', p .. 'stat:processed', 1)
  redis.call('INCRBY', p .. 'stat:processed:' .. ARGV[3], 1)
  if ARGV[6] ~= '' then
    redis.call('RPUSH', p .. 'failed', ARGV[6])
    redis.call('INCRBY', p .. 'stat:failed', 1)
    redis.call('INCRBY', p .. 'stat:failed:' .. ARGV[3], 1)
  end
  ack = 1
end
if #ARGV < 7 then
  return {ack}
end
local pause = redis.call('GET', p .. 'pause-all-workers')
if pause and string.lower(string.gsub(pause, '^%s*(.-)%s*$', '%1')) == 'true' then
  return {ack, -1}
end
-- (just acknowledged: the slot is known to be empty)
if ack == 0 and redis.call('LLEN', KEYS[1]) > 0 then
  return {ack, -2}
end
for i = 7, #ARGV do
  local queue = ARGV[i]
  local job = redis.call('LPOP', p .. 'queue:' .. queue)
  if job then
    redis.call('RPUSH', KEYS[1], queue, job)
    -- Build the record around the raw payload (never decode/re-encode it: cjson turns [] into {}).
    -- Anything not shaped like a JSON object is stored as a JSON string, so the record parses.
    local payload = job
    if not (string.sub(job, 1, 1) == '{' and string.sub(job, -1) == '}') then payload = cjson.encode(job) end
    redis.call('SET', KEYS[2], '{"queue":' .. cjson.encode(queue) .. ',"run_at":"' .. ARGV[2] .. '","payload":' .. payload .. '}')
    redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
    return {ack, queue, job}
  end
end
return {ack}

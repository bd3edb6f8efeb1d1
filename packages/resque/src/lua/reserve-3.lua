--[[
  Reserve one job for a worker slot, atomically, in queue priority order.

  Input:
    KEYS[1] inflight list of the slot  (<ns>:baton:inflight:<id>)
    KEYS[2] Resque working record      (<ns>:worker:<id>)
    KEYS[3] owner lock of the slot     (<ns>:baton:lock:<id>)
    ARGV[1] key prefix (<ns>:)
    ARGV[2] run_at (YYYY-MM-DDTHH:MM:SSZ)
    ARGV[3] worker id
    ARGV[4] owner lock TTL in ms
    ARGV[5..] queue names, highest priority first

  Output:
    {queue, payload}  the job, moved from the head of queue:<queue> into the inflight list
                      as [queue, payload]; the working record and the owner lock are set
    nil               every queue is empty
    -1                pause-all-workers is "true"
    -2                the slot still holds an unacknowledged job
]]
local pause = redis.call('GET', ARGV[1] .. 'pause-all-workers')
if pause and string.lower(string.gsub(pause, '^%s*(.-)%s*$', '%1')) == 'true' then
  return -1
end
if redis.call('LLEN', KEYS[1]) > 0 then
  return -2
end
for i = 5, #ARGV do
  local queue = ARGV[i]
  local job = redis.call('LPOP', ARGV[1] .. 'queue:' .. queue)
  if job then
    redis.call('RPUSH', KEYS[1], queue, job)
    -- Build the record around the raw payload (never decode/re-encode it: cjson turns [] into {}).
    local payload = job
    if not pcall(cjson.decode, job) then payload = cjson.encode(job) end
    redis.call('SET', KEYS[2], '{"queue":' .. cjson.encode(queue) .. ',"run_at":"' .. ARGV[2] .. '","payload":' .. payload .. '}')
    redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
    return {queue, job}
  end
end
return nil

--[[
  Recover a dead worker slot: its in-flight jobs go back to the HEAD of their queues in their
  order (or to <ns>:failed once one has killed workers too often), and its Resque registration is removed
  exactly as Ruby's unregister_worker does.

  Input:
    KEYS[1] inflight list of the slot
    KEYS[2] Resque working record
    KEYS[3] owner lock of the slot
    ARGV[1] key prefix (<ns>:)
    ARGV[2] worker id
    ARGV[3] '1' = the caller knows the process is dead (skip the owner-lock check)
    ARGV[4] max recoveries of one job before it is failed
    ARGV[5] failed_at (YYYY/MM/DD HH:MM:SS UTC)

  Output:
    {requeued, failed}  counts of what happened to the in-flight jobs
    -1                  the owner lock is still held: the slot is alive, nothing was touched
]]
local p = ARGV[1]
local id = ARGV[2]
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[3]) == 1 then
  return -1
end
local requeued, failed = 0, 0
-- Every pair, last first, so that they reach the head of their queues in their order. Each is
-- charged a recovery: which one was running is not recorded (prefetched batches hold several),
-- and a job that was charged is reserved alone afterwards (settle-3.lua), so its count stays its own.
local list = redis.call('LRANGE', KEYS[1], 0, -1)
for i = #list - 1, 1, -2 do
  local queue, job = list[i], list[i + 1]
  local counter = p .. 'baton:recoveries:' .. redis.sha1hex(job)
  local n = redis.call('INCR', counter)
  redis.call('EXPIRE', counter, 86400)
  if n > tonumber(ARGV[4]) then
    local payload = job
    if not pcall(cjson.decode, job) then payload = cjson.encode(job) end
    -- failed_at spliced as is: cjson would write each '/' as '\/', which Ruby never does.
    redis.call('RPUSH', p .. 'failed', '{"failed_at":"' .. ARGV[5] .. '","payload":' .. payload ..
      ',"exception":"Resque::DirtyExit","error":' ..
      cjson.encode('worker ' .. id .. ' died while processing this job (' .. n .. ' workers died on it)') ..
      ',"backtrace":[],"worker":' .. cjson.encode(id) .. ',"queue":' .. cjson.encode(queue) .. '}')
    redis.call('INCRBY', p .. 'stat:failed', 1)
    redis.call('DEL', counter)
    failed = failed + 1
  else
    redis.call('LPUSH', p .. 'queue:' .. queue, job)
    redis.call('SADD', p .. 'queues', queue)
    redis.call('PUBLISH', p .. 'baton:enqueued', queue)
    requeued = requeued + 1
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], p .. 'worker:' .. id .. ':started', p .. 'stat:processed:' .. id, p .. 'stat:failed:' .. id)
redis.call('SREM', p .. 'workers', id)
redis.call('HDEL', p .. 'workers:heartbeat', id)
redis.call('SREM', p .. 'baton:workers', id)
return {requeued, failed}

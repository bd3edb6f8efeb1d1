--[[
  For each of n worker slots: acknowledge its finished job (optional) and reserve its next one,
  atomically, in queue priority order. One round trip per job at concurrency 1; one for every
  slot that became free in the same tick at higher concurrency.

  Input (3 keys per slot, slot i = 1..n):
    KEYS[3i-2] inflight list of the slot  (<ns>:baton:inflight:<id>), holding [queue, payload]
    KEYS[3i-1] Resque working record      (<ns>:worker:<id>)
    KEYS[3i]   owner lock of the slot     (<ns>:baton:lock:<id>)
    ARGV[1] key prefix (<ns>:)
    ARGV[2] run_at (YYYY-MM-DDTHH:MM:SSZ)
    ARGV[3] owner lock TTL in ms, set on each slot that gets a job; '' to leave the locks alone
            (the caller renewed them recently enough that they outlive this job's start)
    ARGV[4] q, the number of queues to reserve from (0: acknowledge only)
    ARGV[5 .. 4+q] queue names, highest priority first
    then 3 per slot: worker id, payload of its finished job to acknowledge exactly as reserved
    ('' for none), its failure record (JSON, RPUSHed onto <ns>:failed; '' if it succeeded)

  Output: 3 entries per slot, in slot order: ack, next, payload
    ack  = 1 acknowledged (stat:processed counted; on failure also the record and stat:failed),
           0 nothing to acknowledge,
          -1 the slot no longer holds that job (recovered while this worker was frozen):
             nothing written and nothing reserved for this slot; the job is someone else's now
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
local ttl = ARGV[3]
local nq = tonumber(ARGV[4])
local base = 4 + nq
local n = (#ARGV - base) / 3
local out = {}
local processed, failed = 0, 0
local want = {}
for i = 1, n do
  local a = base + 3 * i - 3
  local id, done = ARGV[a + 1], ARGV[a + 2]
  local inflight = KEYS[3 * i - 2]
  local ack = 0
  if done ~= '' then
    if redis.call('LINDEX', inflight, 1) == done then
      redis.call('DEL', inflight)
      local f = push_failure(p, ARGV[a + 3])
      count_acked(p, ':' .. id, 1, f)
      processed, failed = processed + 1, failed + f
      ack = 1
    else
      ack = -1
    end
  end
  out[3 * i - 2], out[3 * i - 1], out[3 * i] = ack, 0, ''
  if ack ~= -1 and nq > 0 then
    -- (just acknowledged: the slot is known to be empty)
    if ack == 0 and redis.call('LLEN', inflight) > 0 then
      out[3 * i - 1] = -2
    else
      want[#want + 1] = i
    end
  elseif ack == 1 then
    redis.call('DEL', KEYS[3 * i - 1])
  end
end
if processed > 0 then count_acked(p, '', processed, failed) end
if #want == 0 then return out end

local w = 1
if paused_all(p) then
  for k = 1, #want do out[3 * want[k] - 1] = -1 end
else
  for qi = 1, nq do
    local queue = ARGV[4 + qi]
    local count = #want - w + 1
    local jobs
    if count == 1 then
      -- (without a count LPOP answers a string: cheaper, and the common case)
      jobs = redis.call('LPOP', p .. 'queue:' .. queue)
      if jobs then jobs = { jobs } end
    else
      jobs = redis.call('LPOP', p .. 'queue:' .. queue, count)
    end
    if jobs then
      local head = working_head(queue, ARGV[2])
      for _, job in ipairs(jobs) do
        local i = want[w]
        w = w + 1
        redis.call('RPUSH', KEYS[3 * i - 2], queue, job)
        redis.call('SET', KEYS[3 * i - 1], working_record(head, job))
        if ttl ~= '' then redis.call('SET', KEYS[3 * i], ARGV[base + 3 * i - 2], 'PX', ttl) end
        out[3 * i - 1], out[3 * i] = queue, job
      end
      if w > #want then break end
    end
  end
end
-- Acknowledged slots that got no job: their working record goes too.
for k = w, #want do
  local i = want[k]
  if out[3 * i - 2] == 1 then redis.call('DEL', KEYS[3 * i - 1]) end
end
return out

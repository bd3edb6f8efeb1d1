--[[
  One slot's call when it holds several jobs (prefetch, concurrency 1): acknowledge the finished
  ones, give the unstarted ones back to the head of their queues, reserve the next batch.
  reserve-3.lua is the same call for a slot that holds at most one job.

  The inflight list of the slot holds [queue, payload] pairs in run order: finished jobs not yet
  acknowledged, then the running one, then jobs reserved but not started.

  Input:
    KEYS[1] inflight list of the slot  (<ns>:baton:inflight:<id>)
    KEYS[2] Resque working record      (<ns>:worker:<id>)
    KEYS[3] owner lock of the slot     (<ns>:baton:lock:<id>)
    ARGV[1] key prefix (<ns>:)
    ARGV[2] run_at (YYYY-MM-DDTHH:MM:SSZ)
    ARGV[3] owner lock TTL in ms, set when jobs are reserved; '' to leave the lock alone
    ARGV[4] q, the number of queues to reserve from
    ARGV[5 .. 4+q] queue names, highest priority first
    ARGV[5+q] worker id
    ARGV[6+q] held: the number of pairs the caller believes the list holds
    ARGV[7+q] m: how many of them, from the head, are finished and acknowledged now
    ARGV[8+q .. 7+q+2m] for each: its payload exactly as reserved, its failure record or ''
    ARGV[8+q+2m] keep: pairs kept after the acknowledged ones (a job still running, or finished
            ones acknowledged later); the other held-m-keep pairs, at the tail, go back to the
            head of their queues in their order
    ARGV[9+q+2m] want: the most jobs to reserve; only when the list is empty afterwards

  Output: {ack, next, payload...}
    ack  = m (stat:processed counted; failure records pushed and counted),
          -1 the list does not hold what the caller believes (recovered while this worker was
             frozen): nothing written, nothing reserved; those jobs are someone else's now
    next = the queue the payloads were reserved from, in run order (the working record names the
           first; the owner lock is set if asked). A job that workers died on before
           (baton:recoveries:<sha1>) is reserved alone, so the recovery count stays its own.
          -1 pause-all-workers is "true"
          -2 the list holds jobs the caller does not know of (an earlier process with this pid)
           0 nothing reserved
    When jobs went back but one is kept, the working record names the last kept (running) one.
]]
--- @include "delayed"
--- @include "ack"
--- @include "paused-all"
--- @include "working-record"

local p = ARGV[1]
local nq = tonumber(ARGV[4])
local id = ARGV[5 + nq]
local held = tonumber(ARGV[6 + nq])
local m = tonumber(ARGV[7 + nq])
local keep = tonumber(ARGV[8 + nq + 2 * m])
local want = tonumber(ARGV[9 + nq + 2 * m])

local list = redis.call('LRANGE', KEYS[1], 0, -1)
if #list ~= 2 * held then
  if held == 0 then return { 0, -2 } end
  return { -1, 0 }
end
for i = 1, m do
  if list[2 * i] ~= ARGV[6 + nq + 2 * i] then return { -1, 0 } end
end

if m > 0 then
  local failures = 0
  for i = 1, m do
    failures = failures + push_failure(p, ARGV[7 + nq + 2 * i])
  end
  count_acked(p, ':' .. id, m, failures)
  count_acked(p, '', m, failures)
end

local back = held - m - keep
if back > 0 then
  local woken = {}
  for i = held, m + keep + 1, -1 do
    local queue = list[2 * i - 1]
    redis.call('LPUSH', p .. 'queue:' .. queue, list[2 * i])
    if not woken[queue] then
      woken[queue] = true
      redis.call('SADD', p .. 'queues', queue)
      redis.call('PUBLISH', p .. 'baton:enqueued', queue)
    end
  end
  if keep > 0 then
    local last = m + keep
    redis.call('SET', KEYS[2], working_record(working_head(list[2 * last - 1], ARGV[2]), list[2 * last]))
  end
end
if m + back > 0 then
  if keep == 0 then
    redis.call('DEL', KEYS[1])
  else
    redis.call('LTRIM', KEYS[1], 2 * m, 2 * (m + keep) - 1)
  end
end

local ack = m
if keep > 0 or want <= 0 or nq == 0 then
  if keep == 0 and held > 0 then redis.call('DEL', KEYS[2]) end
  return { ack, 0 }
end

if paused_all(p) then
  if held > 0 then redis.call('DEL', KEYS[2]) end
  return { ack, -1 }
end

local function recovered_before(job)
  return redis.call('EXISTS', p .. 'baton:recoveries:' .. redis.sha1hex(job)) == 1
end

for i = 5, 4 + nq do
  local queue = ARGV[i]
  local key = p .. 'queue:' .. queue
  local jobs = redis.call('LPOP', key, want)
  if jobs then
    local n = #jobs
    if n > 1 then
      -- A job that workers died on runs alone: it stops the batch (or is the whole batch).
      local cut = n + 1
      if recovered_before(jobs[1]) then
        cut = 2
      else
        for j = 2, n do
          if recovered_before(jobs[j]) then
            cut = j
            break
          end
        end
      end
      for j = n, cut, -1 do
        redis.call('LPUSH', key, jobs[j])
        jobs[j] = nil
      end
      n = #jobs
    end
    local items = {}
    for j = 1, n do
      items[2 * j - 1] = queue
      items[2 * j] = jobs[j]
    end
    redis.call('RPUSH', KEYS[1], unpack(items))
    redis.call('SET', KEYS[2], working_record(working_head(queue, ARGV[2]), jobs[1]))
    if ARGV[3] ~= '' then redis.call('SET', KEYS[3], id, 'PX', ARGV[3]) end
    local out = { ack, queue }
    for j = 1, n do out[j + 2] = jobs[j] end
    return out
  end
end
if held > 0 then redis.call('DEL', KEYS[2]) end
return { ack, 0 }

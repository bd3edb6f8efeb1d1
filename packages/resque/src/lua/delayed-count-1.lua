--[[
  Counts delayed jobs (read-only): the total, or how many go to each queue. One call looks at a
  slice of the schedule, soonest second first, and says where it stopped, so a large schedule is
  counted in several short calls instead of one that holds Redis (or one round trip per second).

  Input:
    KEYS[1] <ns>:delayed_queue_schedule
    ARGV[1] key prefix (<ns>:)
    ARGV[2] cursor: count the seconds scored after this ('-inf': from the first)
    ARGV[3] budget: stop after the second that brings the work to this (1 per second read,
            plus 1 per job decoded for 'queues')
    ARGV[4] 'total' (LLEN of each second's list) or 'queues' (each job's queue, as the JSON's
            "queue" string; '' for a payload that is no job or has no queue)

  Output: {cursor, total, queue1, n1, queue2, n2, ...}
    cursor = the score of the last second counted: call again from it; '' when the end was reached
    total  = the jobs counted in this call
    queueN, nN = per queue (mode 'queues' only)
]]
local key = KEYS[1]
local p = ARGV[1]
local after = ARGV[2]
local budget = tonumber(ARGV[3])
local by_queue = ARGV[4] == 'queues'
local total, spent = 0, 0
local counts = {}

while true do
  local from = '-inf'
  if after ~= '-inf' then from = '(' .. after end
  local slice = redis.call('ZRANGEBYSCORE', key, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 500)
  if #slice == 0 then after = '' break end
  for i = 1, #slice, 2 do
    local list = p .. 'delayed:' .. slice[i]
    if by_queue then
      local items = redis.call('LRANGE', list, 0, -1)
      for _, item in ipairs(items) do
        local q = ''
        local ok, job = pcall(cjson.decode, item)
        if ok and type(job) == 'table' and type(job.class) == 'string' and type(job.queue) == 'string' then q = job.queue end
        counts[q] = (counts[q] or 0) + 1
      end
      total = total + #items
      spent = spent + #items + 1
    else
      total = total + redis.call('LLEN', list)
      spent = spent + 1
    end
    after = slice[i + 1]
    if spent >= budget then break end
  end
  if spent >= budget then break end
  if #slice < 1000 then after = '' break end
end

local out = { after, total }
for q, n in pairs(counts) do
  out[#out + 1] = q
  out[#out + 1] = n
end
return out

--[[
  A page of delayed jobs (read-only), soonest second first: passes over `skip` jobs by whole
  seconds (LLEN), then returns whole seconds (their list and their due milliseconds) until
  `count` jobs past the skip are in. The caller sorts each second by its milliseconds and cuts
  the page. One call looks at a bounded number of seconds and says where it stopped.

  Input:
    KEYS[1] <ns>:delayed_queue_schedule
    ARGV[1] key prefix (<ns>:)
    ARGV[2] cursor: start after the second scored this ('-inf': from the first)
    ARGV[3] skip: jobs still to pass over
    ARGV[4] count: jobs still wanted
    ARGV[5] budget: the most seconds to look at in this call

  Output: {cursor, skip, secs1, items1, at1, secs2, items2, at2, ...}
    cursor = the score of the last second looked at: call again from it with the skip returned
             and the count less the jobs returned; '' when done (the page is full or the end was reached)
    skip   = jobs still to pass over, in the first second returned (or in later calls, when none is)
    secsN  = a second; itemsN its list (LRANGE 0 -1); atN its <ns>:baton:delayed_at:<secs>
             zset WITHSCORES (item, epoch ms, ...: the jobs due after the second's start)
]]
local key = KEYS[1]
local p = ARGV[1]
local after = ARGV[2]
local skip = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local out = { '', 0 }
local seen, got, first_skip = 0, 0, nil

while true do
  local from = '-inf'
  if after ~= '-inf' then from = '(' .. after end
  local slice = redis.call('ZRANGEBYSCORE', key, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 500)
  if #slice == 0 then after = '' break end
  for i = 1, #slice, 2 do
    local secs = slice[i]
    local list = p .. 'delayed:' .. secs
    local n = redis.call('LLEN', list)
    seen = seen + 1
    after = slice[i + 1]
    if skip >= n then
      skip = skip - n
    else
      if not first_skip then first_skip = skip end
      out[#out + 1] = secs
      out[#out + 1] = redis.call('LRANGE', list, 0, -1)
      out[#out + 1] = redis.call('ZRANGE', p .. 'baton:delayed_at:' .. secs, 0, -1, 'WITHSCORES')
      got = got + n - skip
      skip = 0
      if got >= want then break end
    end
    if seen >= budget then break end
  end
  if got >= want then after = '' break end
  if seen >= budget then break end
  if #slice < 1000 then after = '' break end
end

out[1] = after
out[2] = first_skip or skip
return out

--[[
  An acknowledgement's writes, as Ruby Resque's Stat and Failure::Redis make them.

  push_failure(p, record): RPUSHes the failure record onto <p>failed ('' for a job that
    succeeded: nothing); returns the number of failures (1 or 0). A failed attempt its class
    retries comes as '@<due epoch ms>:<delayed payload>' and goes to the delayed queue instead
    (schedule_delayed, include/delayed.lua, which a script including this one includes first),
    counted as a failure as Resque counts a job resque-retry retries.
  count_acked(p, suffix, processed, failed): adds to <p>stat:processed<suffix> and, when
    `failed` > 0, to <p>stat:failed<suffix>; suffix ':' .. id for a slot's counters, '' for the totals
]]
local function push_failure(p, record)
  if record == '' then return 0 end
  if string.sub(record, 1, 1) == '@' then
    local colon = string.find(record, ':', 2, true)
    schedule_delayed(p, tonumber(string.sub(record, 2, colon - 1)), string.sub(record, colon + 1))
    return 1
  end
  redis.call('RPUSH', p .. 'failed', record)
  return 1
end

local function count_acked(p, suffix, processed, failed)
  redis.call('INCRBY', p .. 'stat:processed' .. suffix, processed)
  if failed > 0 then redis.call('INCRBY', p .. 'stat:failed' .. suffix, failed) end
end

--[[
  An acknowledgement's writes, as Ruby Resque's Stat and Failure::Redis make them.

  push_failure(p, record): RPUSHes the failure record onto <p>failed ('' for a job that
    succeeded: nothing); returns the number pushed (1 or 0)
  count_acked(p, suffix, processed, failed): adds to <p>stat:processed<suffix> and, when
    `failed` > 0, to <p>stat:failed<suffix>; suffix ':' .. id for a slot's counters, '' for the totals
]]
local function push_failure(p, record)
  if record == '' then return 0 end
  redis.call('RPUSH', p .. 'failed', record)
  return 1
end

local function count_acked(p, suffix, processed, failed)
  redis.call('INCRBY', p .. 'stat:processed' .. suffix, processed)
  if failed > 0 then redis.call('INCRBY', p .. 'stat:failed' .. suffix, failed) end
end

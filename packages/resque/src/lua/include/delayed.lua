--[[
  resque-scheduler's delayed_push (lib/resque/scheduler/delaying_extensions.rb), with baton's
  millisecond due times beside it.

  schedule_delayed(p, ms, item): `item` (exact bytes, {"class","args","queue"}) is due at epoch
    ms `ms`. As Ruby: RPUSH <p>delayed:<secs> item, SADD <p>timestamps:<item> delayed:<secs>,
    ZADD <p>delayed_queue_schedule secs secs, with secs = floor(ms / 1000) (Ruby's Time#to_i).
    When ms is not a whole second: ZADD <p>baton:delayed_at:<secs> ms item (a copy already there
    keeps the earlier time), the key expiring a day after its second. Publishes ms on
    <p>baton:scheduler (wakes a sleeping leader when the job is due sooner than it planned).
]]
local function schedule_delayed(p, ms, item)
  local secs = math.floor(ms / 1000)
  local list = 'delayed:' .. string.format('%d', secs)
  redis.call('RPUSH', p .. list, item)
  redis.call('SADD', p .. 'timestamps:' .. item, list)
  redis.call('ZADD', p .. 'delayed_queue_schedule', secs, string.format('%d', secs))
  if ms > secs * 1000 then
    local at = p .. 'baton:delayed_at:' .. string.format('%d', secs)
    local old = redis.call('ZSCORE', at, item)
    if not old or tonumber(old) > ms then redis.call('ZADD', at, string.format('%d', ms), item) end
    redis.call('PEXPIREAT', at, string.format('%d', secs * 1000 + 86400000))
  end
  redis.call('PUBLISH', p .. 'baton:scheduler', string.format('%d', ms))
end

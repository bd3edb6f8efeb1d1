--[[
  resque-scheduler's delayed_push (lib/resque/scheduler/delaying_extensions.rb), with baton's
  millisecond due times beside it.

  schedule_delayed(p, ms, item): `item` (exact bytes, {"class","args","queue"}) is due at epoch
    ms `ms`. As Ruby: RPUSH <p>delayed:<secs> item, SADD <p>timestamps:<item> delayed:<secs>,
    ZADD <p>delayed_queue_schedule secs secs, with secs = floor(ms / 1000) (Ruby's Time#to_i).
    When ms is not a whole second, or the second has that key already: ZADD
    <p>baton:delayed_at:<secs> ms item (a copy already there keeps the earlier time), the key
    expiring a day after its second; creating the key, the second's jobs already listed get its
    start as their time, so while the key exists every job we wrote in that second has its time. Publishes ms on
    <p>baton:scheduler (wakes a sleeping leader when the job is due sooner than it planned).
]]
local function schedule_delayed(p, ms, item)
  local secs = math.floor(ms / 1000)
  local list = 'delayed:' .. string.format('%d', secs)
  local n = redis.call('RPUSH', p .. list, item)
  redis.call('SADD', p .. 'timestamps:' .. item, list)
  redis.call('ZADD', p .. 'delayed_queue_schedule', secs, string.format('%d', secs))
  local at = p .. 'baton:delayed_at:' .. string.format('%d', secs)
  local start = string.format('%d', secs * 1000)
  local fresh = redis.call('EXISTS', at) == 0
  if ms > secs * 1000 or not fresh then
    if fresh and n > 1 then
      -- The second's earlier jobs (whole seconds, Ruby's, node-resque's) are due at its start.
      for _, old in ipairs(redis.call('LRANGE', p .. list, 0, n - 2)) do redis.call('ZADD', at, 'NX', start, old) end
    end
    local old = redis.call('ZSCORE', at, item)
    if not old or tonumber(old) > ms then redis.call('ZADD', at, string.format('%d', ms), item) end
    redis.call('PEXPIREAT', at, string.format('%d', secs * 1000 + 86400000))
  end
  redis.call('PUBLISH', p .. 'baton:scheduler', string.format('%d', ms))
end

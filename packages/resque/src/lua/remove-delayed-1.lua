--[[
  resque-scheduler's remove_delayed_job(encoded): every copy of `item` leaves every delayed list
  <ns>:timestamps:<item> names; emptied seconds leave the schedule (Ruby leaves them to its mover).

  Input:
    KEYS[1] <ns>:timestamps:<item>
    ARGV[1] key prefix (<ns>:)
    ARGV[2] item: the delayed job's exact bytes

  Output: the number of copies removed
]]
local p = ARGV[1]
local item = ARGV[2]
local removed = 0
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local ts = string.match(name, '^delayed:(.*)$')
  if ts then
    local list = p .. name
    removed = removed + redis.call('LREM', list, 0, item)
    local at = p .. 'baton:delayed_at:' .. ts
    redis.call('ZREM', at, item)
    if redis.call('LLEN', list) == 0 then
      redis.call('DEL', list, at)
      redis.call('ZREM', p .. 'delayed_queue_schedule', ts)
    end
  end
end
redis.call('DEL', KEYS[1])
return removed

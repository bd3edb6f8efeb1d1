--[[
  Resque's Failure::Redis requeue(i) for each of several entries, made safe to batch: the entry
  at an index is marked retried and its job enqueued only if that entry is still the one the
  caller read (a removal meanwhile shifts indices: then nothing is written for it, rather than
  another entry overwritten). The caller builds both texts as the single retry does (the record
  with retried_at, `{class, args}`); each enqueue is lua/push-2.lua's, in the entries' order.

  Input (1 key per entry, entry i = 1..n):
    KEYS[i] the queue entry i's job goes to (<ns>:queue:<q>)
    ARGV[1] key prefix (<ns>:)
    ARGV[2] wake-up channel (<ns>:baton:enqueued)
    ARGV[3 + 5(i-1) ..] entry i: its index in <ns>:failed, the entry as read there, the entry
            marked retried (what LSET writes), the queue name, the job payload

  Output: per entry, 1 retried or 0 the entry at its index is another now (or none)
]]
local failed = ARGV[1] .. 'failed'
local queues = ARGV[1] .. 'queues'
local out = {}
for i = 1, #KEYS do
  local a = 3 + 5 * (i - 1)
  if redis.call('LINDEX', failed, ARGV[a]) == ARGV[a + 1] then
    redis.call('LSET', failed, ARGV[a], ARGV[a + 2])
    redis.call('SADD', queues, ARGV[a + 3])
    redis.call('RPUSH', KEYS[i], ARGV[a + 4])
    redis.call('PUBLISH', ARGV[2], ARGV[a + 3])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out

--[[
  Queue.enqueueAt: one delayed job, in resque-scheduler's layout (see include/delayed.lua).

  Input:
    KEYS[1] <ns>:delayed_queue_schedule
    ARGV[1] key prefix (<ns>:)
    ARGV[2] due time, epoch ms (an integer)
    ARGV[3] the job: {"class":…,"args":[…],"queue":…} (Ruby's key order)

  Output: 1
]]
--- @include "delayed"

schedule_delayed(ARGV[1], tonumber(ARGV[2]), ARGV[3])
return 1

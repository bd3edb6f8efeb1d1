--[[
  Fail one job a slot holds, found by the sha1 of its payload: the master stopped it from outside
  (e.g. it ran past jobTimeout while blocking its worker's event loop). The job leaves the slot's
  inflight list and becomes a Ruby Resque failure record; the slot's other jobs stay where they
  are, for the usual recovery of the slot afterwards (recover-3.lua).

  Input:
    KEYS[1] inflight list of the slot  (<ns>:baton:inflight:<id>), holding [queue, payload] pairs
    KEYS[2] Resque working record      (<ns>:worker:<id>)
    KEYS[3] owner lock of the slot     (<ns>:baton:lock:<id>) (untouched)
    ARGV[1] key prefix (<ns>:)
    ARGV[2] worker id of the slot
    ARGV[3] job id: sha1 hex of the payload bytes
    ARGV[4] exception (e.g. Resque::JobTimeout), JSON-encoded
    ARGV[5] error message, JSON-encoded
    ARGV[6] failed_at (YYYY/MM/DD HH:MM:SS UTC), JSON-encoded
    ARGV[7] worker id, JSON-encoded
    (encoded by the caller as Ruby does: cjson would escape every '/' as '\/')

  Output:
    1  failed: the pair is gone from the list, the record pushed onto <ns>:failed, and
       stat:processed, stat:failed (global and the slot's) counted, as for a job that raised
    0  no job with that id in the slot (acknowledged, given back or recovered already)
]]
local p = ARGV[1]
local id = ARGV[2]
local list = redis.call('LRANGE', KEYS[1], 0, -1)
local found = nil
-- The last match: with identical payloads in one batch, the finished ones come first.
for i = #list, 2, -2 do
  if redis.sha1hex(list[i]) == ARGV[3] then
    found = i
    break
  end
end
if not found then return 0 end
local queue, job = list[found - 1], list[found]

local rest = {}
for i = 1, #list, 2 do
  if i + 1 ~= found then
    rest[#rest + 1] = list[i]
    rest[#rest + 1] = list[i + 1]
  end
end
redis.call('DEL', KEYS[1])
if #rest > 0 then
  redis.call('RPUSH', KEYS[1], unpack(rest))
else
  redis.call('DEL', KEYS[2])
end

-- The payload as is inside the record (never re-encoded); one that is not JSON as a JSON string.
local payload = job
if not pcall(cjson.decode, job) then payload = cjson.encode(job) end
local queue_json = string.gsub(cjson.encode(queue), '\\/', '/')
redis.call('RPUSH', p .. 'failed', '{"failed_at":' .. ARGV[6] .. ',"payload":' .. payload ..
  ',"exception":' .. ARGV[4] .. ',"error":' .. ARGV[5] ..
  ',"backtrace":[],"worker":' .. ARGV[7] .. ',"queue":' .. queue_json .. '}')
redis.call('INCRBY', p .. 'stat:processed', 1)
redis.call('INCRBY', p .. 'stat:processed:' .. id, 1)
redis.call('INCRBY', p .. 'stat:failed', 1)
redis.call('INCRBY', p .. 'stat:failed:' .. id, 1)
-- It is failed, not recovered: a recovery count it had is no longer needed.
redis.call('DEL', p .. 'baton:recoveries:' .. ARGV[3])
return 1

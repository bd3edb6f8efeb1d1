--[[
  Resque's working record of a slot (<ns>:worker:<id>): {"queue","run_at","payload"}, built around
  the raw payload (never decoded and re-encoded: cjson turns [] into {}). A payload not shaped like
  a JSON object is stored as a JSON string, so the record parses.

  working_head(queue, run_at): the record up to its payload, the same for every job of a queue
  working_record(head, job): the record of `job`
]]
local function working_head(queue, run_at)
  return '{"queue":' .. cjson.encode(queue) .. ',"run_at":"' .. run_at .. '","payload":'
end

local function working_record(head, job)
  local payload = job
  if not (string.sub(job, 1, 1) == '{' and string.sub(job, -1) == '}') then payload = cjson.encode(job) end
  return head .. payload .. '}'
end

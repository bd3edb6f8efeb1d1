--[[
  Resque's "pause all workers" switch (resque-web; Queue.pauseAll).

  paused_all(p): true when <p>pause-all-workers reads "true" (any case, blanks around it ignored),
  as Ruby Resque reads it.
]]
local function paused_all(p)
  local pause = redis.call('GET', p .. 'pause-all-workers')
  return pause and string.lower(string.gsub(pause, '^%s*(.-)%s*$', '%1')) == 'true'
end

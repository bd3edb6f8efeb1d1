--[[
  Resque's heartbeat value (resque-protocol.md §3; time.ts formatHeartbeat): Redis TIME as Ruby's
  Time#iso8601 in UTC, YYYY-MM-DDTHH:MM:SS+00:00 (never Z). Read inside the script that writes it:
  one round trip, and the clock Ruby's pruning compares it with.

  iso8601_utc(secs): epoch seconds → that format (civil_from_days, H. Hinnant; any date from 1970)
  heartbeat_now(): Redis TIME in that format
]]
local function iso8601_utc(secs)
  local days = math.floor(secs / 86400)
  local rem = secs - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d+00:00', y, m, d, math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60)
end

local function heartbeat_now()
  return iso8601_utc(tonumber(redis.call('TIME')[1]))
end

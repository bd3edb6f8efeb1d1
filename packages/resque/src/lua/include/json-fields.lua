--[[
  The raw text of each top-level field of a JSON object, so a job can be rebuilt around its args
  byte for byte (cjson would turn [] into {} and round numbers).

  json_fields(s): table field name → raw value text, or nil when `s` is not a JSON object
]]
local function json_fields(s)
  local n = #s
  local i = string.find(s, '%S')
  if not i or string.sub(s, i, i) ~= '{' then return nil end
  local function string_end(j) -- s[j] is '"'; the index of its closing quote
    local k = j + 1
    while true do
      local c = string.find(s, '["\\]', k)
      if not c then return nil end
      if string.sub(s, c, c) == '\\' then k = c + 2 else return c end
    end
  end
  local function value_end(j)
    local c = string.sub(s, j, j)
    if c == '"' then return string_end(j) end
    if c == '{' or c == '[' then
      local depth, k = 0, j
      while true do
        local m = string.find(s, '[%[%]{}"]', k)
        if not m then return nil end
        local ch = string.sub(s, m, m)
        if ch == '"' then
          m = string_end(m)
          if not m then return nil end
        elseif ch == '{' or ch == '[' then
          depth = depth + 1
        else
          depth = depth - 1
          if depth == 0 then return m end
        end
        k = m + 1
      end
    end
    local e = string.find(s, '[,}%s]', j)
    if not e then return nil end
    return e - 1
  end
  local out = {}
  i = i + 1
  while true do
    i = string.find(s, '%S', i)
    if not i then return nil end
    local c = string.sub(s, i, i)
    if c == '}' then return out end
    if c == ',' then
      i = i + 1
    elseif c == '"' then
      local ke = string_end(i)
      if not ke then return nil end
      local ok, key = pcall(cjson.decode, string.sub(s, i, ke))
      if not ok then return nil end
      local colon = string.find(s, '%S', ke + 1)
      if not colon or string.sub(s, colon, colon) ~= ':' then return nil end
      local vs = string.find(s, '%S', colon + 1)
      if not vs then return nil end
      local ve = value_end(vs)
      if not ve then return nil end
      out[key] = string.sub(s, vs, ve)
      i = ve + 1
    else
      return nil
    end
  end
end

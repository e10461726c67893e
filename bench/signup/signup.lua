-- wrk script: POST a realistic sign-up with a unique phone number per request.
-- Arguments: <template file> <postcode file> <number prefix digit>
local threads = {}
local counter = 0
local statuses = {}
local template, postcodes, prefix, tid

setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

init = function(args)
  local f = assert(io.open(args[1], "r"))
  template = f:read("*a")
  f:close()
  postcodes = {}
  for line in io.lines(args[2]) do postcodes[#postcodes + 1] = line end
  prefix = args[3] or "1"
  tid = wrk.thread:get("tid")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

request = function()
  counter = counter + 1
  -- +316 then 8 digits: prefix digit, thread (1 digit), counter (6 digits): never repeats.
  local phone = string.format("+316%s%d%06d", prefix, tid, counter)
  local pc = postcodes[(counter % #postcodes) + 1]
  local body = template:gsub("__PHONE__", phone):gsub("__POSTCODE__", pc)
  wrk.thread:set("counter", counter)
  return wrk.format(nil, nil, nil, body)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  wrk.thread:set("statuses", statuses)
  wrk.thread:set("counter", counter)
end

function extra_json()
  local parts = {}
  for _, t in ipairs(threads) do parts[#parts + 1] = tostring(t:get("counter")) end
  return ', "sent_per_thread": [' .. table.concat(parts, ", ") .. "]"
end


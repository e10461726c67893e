-- wrk script: POST {"phone": ...} with a unique number per request (baseline insert).
local threads = {}
local counter = 0
local statuses = {}
local tid

setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

init = function(args)
  tid = wrk.thread:get("tid")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, string.format('{"phone": "+3162%d%06d"}', tid, counter))
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

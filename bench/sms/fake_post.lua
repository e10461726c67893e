-- wrk script: POST Messages.json to the fake Twilio directly (the outbound baseline).
-- Arguments: <Authorization header value> <form body>
local threads = {}
local statuses = {}

setup = function(thread) table.insert(threads, thread) end

init = function(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = args[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.body = args[2]
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  wrk.thread:set("statuses", statuses)
end

function status_json()
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = string.format('"%s": %d', k, v) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function extra_json() return "" end

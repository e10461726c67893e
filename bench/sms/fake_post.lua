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


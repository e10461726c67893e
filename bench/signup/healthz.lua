-- wrk script: GET /healthz (the bare HTTP stack), with the shared JSON summary.
local threads = {}
local statuses = {}
setup = function(thread) table.insert(threads, thread) end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  wrk.thread:set("statuses", statuses)
end

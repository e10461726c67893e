-- wrk script: POST pre-signed Twilio inbound-SMS webhooks, each body used once.
-- Arguments: <bodies file> <number of wrk threads>. Each line is "<X-Twilio-Signature>\t<form body>"; the signature
-- covers the URL and the body, so bodies are signed beforehand in Python. Thread t of n takes
-- lines t, t + n, t + 2n, ...; running out is reported (the run then repeats MessageSids).
local threads = {}
local statuses = {}
local lines = {}
local counter = 0
local exhausted = 0

setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

init = function(args)
  local tid = wrk.thread:get("tid")
  local n = tonumber(args[2] or "1")
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == tid then lines[#lines + 1] = line end
    i = i + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

request = function()
  counter = counter + 1
  local index = counter
  if index > #lines then
    exhausted = exhausted + 1
    index = ((index - 1) % #lines) + 1
  end
  wrk.thread:set("counter", counter)
  wrk.thread:set("exhausted", exhausted)
  local line = lines[index]
  local tab = line:find("\t", 1, true)
  local headers = {
    ["X-Twilio-Signature"] = line:sub(1, tab - 1),
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  return wrk.format("POST", nil, headers, line:sub(tab + 1))
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  wrk.thread:set("statuses", statuses)
  wrk.thread:set("counter", counter)
  wrk.thread:set("exhausted", exhausted)
end

function extra_json()
  local sent, over = {}, 0
  for _, t in ipairs(threads) do
    sent[#sent + 1] = tostring(t:get("counter") or 0)
    over = over + (t:get("exhausted") or 0)
  end
  return ', "sent_per_thread": [' .. table.concat(sent, ", ") .. '], "exhausted": ' .. over
end

-- wrk script for bench_answer_load.py: each request is the final submit POST of one pre-started
-- survey response, used once. Thread n of N takes lines n, n+N, n+2N … of the request file
-- ("path<TAB>body"); every 302 to a thank-you page is kept so the bench can check none is lost.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, total = args[1], tonumber(args[2])
  cookie = args[3]
  queue, next_item, confirmed, statuses, ran_out = {}, 1, {}, {}, 0
  local line_no = 0
  for line in io.lines(file) do
    if line_no % total == thread_index then
      local path, body = line:match("^([^\t]+)\t(.*)$")
      table.insert(queue, {path, body})
    end
    line_no = line_no + 1
  end
end

function request()
  local item = queue[next_item]
  if item == nil then  -- out of prepared responses: ask for something cheap, counted apart
    ran_out = ran_out + 1
    return wrk.format("GET", "/api/v1/health")
  end
  next_item = next_item + 1
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "csrftoken=" .. cookie,
  }
  return wrk.format("POST", item[1], headers, item[2])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local location = headers["Location"] or headers["location"]
  if status == 302 and location and location:match("/thanks/$") then
    table.insert(confirmed, location)
  end
end

function done(summary, latency, requests)
  local out = io.stdout
  out:write("{\"requests\": ", summary.requests, ", \"duration_us\": ", summary.duration)
  out:write(", \"socket_errors\": ", summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout)
  out:write(", \"timeouts\": ", summary.errors.timeout)
  out:write(", \"p50\": ", latency:percentile(50) / 1000, ", \"p95\": ", latency:percentile(95) / 1000)
  out:write(", \"p99\": ", latency:percentile(99) / 1000, ", \"max\": ", latency.max / 1000)
  local locations, status_counts, exhausted = {}, {}, 0
  for _, thread in ipairs(threads) do
    for _, location in ipairs(thread:get("confirmed")) do
      table.insert(locations, string.format("%q", location))
    end
    for status, n in pairs(thread:get("statuses")) do
      status_counts[status] = (status_counts[status] or 0) + n
    end
    exhausted = exhausted + thread:get("ran_out")
  end
  local parts = {}
  for status, n in pairs(status_counts) do
    table.insert(parts, string.format("\"%d\": %d", status, n))
  end
  out:write(", \"statuses\": {", table.concat(parts, ", "), "}")
  out:write(", \"exhausted\": ", exhausted)
  out:write(", \"confirmed\": [", table.concat(locations, ", "), "]}\n")
end

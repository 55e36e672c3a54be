-- wrk script: each request takes the next path from the script arguments (wrk ... URL -- PATH...),
-- and every status code is counted so the report can tell 2xx from 3xx, 4xx and 5xx.
-- Headers given with -H (the bearer token) are sent with every request.

local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for _, path in ipairs(args) do
    table.insert(paths, path)
  end
  if #paths == 0 then
    paths = { wrk.path }
  end
  -- Threads start at different paths so their requests stay spread over the mix.
  index = offset % #paths
  statuses = {}
end

function request()
  index = index % #paths + 1
  return wrk.format(nil, paths[index])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  io.write("STATUS_JSON {" .. table.concat(parts, ", ") .. "}\n")
end

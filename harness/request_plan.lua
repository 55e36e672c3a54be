-- wrk script: requests from a plan file (harness/request_plan.py writes it), each with its own
-- method, path, bearer token and JSON body, and a drain at the end so that every request sent
-- is answered before wrk stops: the benchmark can then count rows against answers exactly.
--
-- wrk ... -s request_plan.lua URL -- PLAN_FILE STOP_FILE THREADS MODE
--   PLAN_FILE  lines "token<TAB>KEY<TAB>TOKEN" then "request<TAB>METHOD<TAB>PATH<TAB>KEY<TAB>BODY"
--   STOP_FILE  once it exists, no new planned request is sent; wrk is then stopped from outside
--   THREADS    wrk's -t (thread k takes the plan's requests k, k+THREADS, ...)
--   MODE       "once": each planned request at most once, in order (the writes benchmark);
--              "cycle": round and round, and every 201's assignment is withdrawn again
--              (DELETE /api/v1/assignments/ID) by a later POST's turn and while draining,
--              so the data stays the same size (the soak)
--
-- wrk calls delay() before each request() of a connection, so delay() hands out turns: while
-- draining (or when a "once" plan is used up) it parks the connection instead. When nothing is
-- in flight any more the thread stops and prints "DRAINED" (and "READY" once it has read the
-- plan, which for a long plan takes a moment). wrk also calls request() once to
-- check the script before the run, before any delay(); that request is never sent and takes
-- nothing from the plan. (After a socket error wrk resends without asking delay(): that
-- request counts as sent; the benchmark fails on the socket error anyway.)
-- At the end one line "PLAN_JSON {...}" carries the counts (see request_plan.py).

local PARK_MS = 3600000
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  plan_file, stop_file = args[1], args[2]
  local thread_count = tonumber(args[3])
  cycle = args[4] == "cycle"
  tokens, plan = {}, {}
  local index = 0
  for line in io.lines(plan_file) do
    local f = split(line)
    if f[1] == "token" then
      tokens[f[2]] = { Authorization = "Bearer " .. f[3], ["Content-Type"] = "application/json" }
    elseif f[1] == "request" then
      if index % thread_count == id then
        table.insert(plan, { method = f[2], path = f[3], key = f[4], body = f[5] })
      end
      index = index + 1
    end
  end
  cursor = 0        -- planned requests taken
  turns = 0         -- turns handed out by delay() and not yet used by request()
  withdrawals = {}  -- created assignments still to withdraw ("cycle"): {id, key}
  sent, received = 0, 0
  started, stopping, drained = false, false, false
  statuses = {}     -- "201", "204", "409 /problems/slot-full", ...
  created = {}      -- ids of the assignments answered 201 ("once")
  io.write(string.format("READY %d\n", id))
  io.flush()
end

local function headers_for(key)
  local base = tokens[key]
  if base == nil then
    error("no token for key " .. tostring(key))
  end
  -- wrk.format adds Host and Content-Length to the table it gets: give it a copy.
  return { Authorization = base.Authorization, ["Content-Type"] = base["Content-Type"] }
end

local function stop_requested()
  local handle = io.open(stop_file, "r")
  if handle then
    handle:close()
    return true
  end
  return false
end

local function stop_when_idle()
  if stopping and not drained and turns == 0 and received == sent
     and (not cycle or #withdrawals == 0) then
    drained = true
    io.write(string.format("DRAINED %d\n", id))
    io.flush()
    wrk.thread:stop()
  end
end

function delay()
  started = true
  if not stopping and (stop_requested() or (not cycle and cursor + turns >= #plan)) then
    stopping = true
  end
  -- A withdrawal already owed may still go out while draining: nothing created stays behind.
  if not stopping or (cycle and #withdrawals > turns) then
    turns = turns + 1
    return 0
  end
  stop_when_idle()
  return PARK_MS
end

function request()
  if not started then
    local entry = plan[1]
    return wrk.format(entry.method, entry.path, headers_for(entry.key), nil)
  end
  turns = math.max(turns - 1, 0)
  sent = sent + 1
  if cycle and #withdrawals > 0 and (stopping or plan[cursor % #plan + 1].method == "POST") then
    local assignment = table.remove(withdrawals, 1)
    if not stopping then
      cursor = cursor + 1  -- this POST's turn went to the withdrawal
    end
    return wrk.format("DELETE", "/api/v1/assignments/" .. assignment.id,
                      headers_for(assignment.key), nil)
  end
  local entry = plan[cursor % #plan + 1]
  cursor = cursor + 1
  local body = entry.body
  if body == "" then
    body = nil
  end
  return wrk.format(entry.method, entry.path, headers_for(entry.key), body)
end

function response(status, headers, body)
  received = received + 1
  local key = tostring(status)
  if status >= 400 and status < 500 then
    local problem = body:match('"type"%s*:%s*"([^"]*)"')
    if problem then
      key = key .. " " .. problem
    end
  elseif status == 201 then
    local assignment = body:match('"id"%s*:%s*(%d+)')
    if assignment then
      if cycle then
        local person = body:match('"person_id"%s*:%s*(%d+)')
        local source = body:match('"source"%s*:%s*"([^"]*)"')
        -- The volunteer withdraws their own sign-up; the admin what the admin assigned.
        local owner = source == "self_signup" and person or "admin"
        table.insert(withdrawals, { id = assignment, key = owner })
      else
        table.insert(created, tonumber(assignment))
      end
    end
  end
  statuses[key] = (statuses[key] or 0) + 1
  stop_when_idle()
end

local function json_string(value)
  return '"' .. value:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
  local total = {}
  local per_thread, ids = {}, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
    local left = thread:get("withdrawals")
    table.insert(per_thread, string.format(
      '{"taken": %d, "sent": %d, "received": %d, "withdrawals_left": %d}',
      thread:get("cursor"), thread:get("sent"), thread:get("received"), #left))
    for _, assignment in ipairs(thread:get("created")) do
      table.insert(ids, string.format("%d", assignment))
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format("%s: %d", json_string(status), count))
  end
  io.write("PLAN_JSON {\"statuses\": {" .. table.concat(parts, ", ") .. "}, \"threads\": ["
           .. table.concat(per_thread, ", ") .. "], \"created\": [" .. table.concat(ids, ", ")
           .. "]}\n")
end

-- wrk script for every bench scenario: `wrk -s ypv.lua URL -- SCENARIO DATAFILE`.
--
-- DATAFILE (written by the bench) returns {keys=…, pairs=…, ids=…, states=…, buy=…, limited=…}.
-- Each request picks its key / activation / purchase at random, so caches see
-- the spread a real fleet of clients produces. Every body is checked against
-- what the scenario expects; anything else (ERROR_SQL, NO_NUMBERS, BAD_KEY …)
-- is counted as "bad" and reported beside wrk's socket and HTTP errors.
-- The bare app gets the same requests and runs the same callback, so wrk's own cost is equal.

local PATH = "/stubs/handler_api.php?api_key="
local scenario, data
bad = 0  -- global: done() reads it from each thread with thread:get("bad")

local function pick(list) return list[math.random(#list)] end

local function get_status()
  local i = math.random(#data.pairs)
  return data.pairs[i] .. "&action=getStatus&id=" .. data.ids[i]
end

local function set_status()
  local i = math.random(#data.pairs)
  local status = data.states[i] == "waiting" and "8" or "6"
  return data.pairs[i] .. "&action=setStatus&status=" .. status .. "&id=" .. data.ids[i]
end

local function get_number()
  local b = pick(data.buy)
  return pick(data.keys) .. "&action=getNumber&service=" .. b[1] .. "&country=" .. b[2]
end

local builders = {
  getBalance = function() return pick(data.keys) .. "&action=getBalance" end,
  getStatus = get_status,
  getPrices = function() return pick(data.keys) .. "&action=getPrices" end,
  getNumber = get_number,
  mixed = function()
    local r = math.random(100)
    if r <= 90 then return get_status() end
    if r <= 95 then return get_number() end
    return set_status()
  end,
  limited = function() return data.limited .. "&action=getBalance" end,
}

-- First bytes of every acceptable body, per scenario (status 429 only where expected).
-- The limited key may make one request a minute: its window is exact, not a ban.
local expected = {
  getBalance = {"ACCESS_BALANCE:"}, getStatus = {"STATUS_"}, getPrices = {"{"},
  getNumber = {"ACCESS_NUMBER:"}, mixed = {"STATUS_", "ACCESS_"}, limited = {"TOO_MANY_REQUESTS", "ACCESS_BALANCE:"},
}

function init(args)
  scenario = args[1]
  data = dofile(args[2])
  if args[3] == "bare" then expected[scenario] = {""} end  -- the bare app's constants are not checked
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + tonumber(tostring({}):sub(8), 16))
end

function request()
  return wrk.format("GET", PATH .. builders[scenario]())
end

function response(status, headers, body)
  for _, prefix in ipairs(expected[scenario]) do
    if body:sub(1, #prefix) == prefix then return end
  end
  bad = bad + 1
  if bad <= 3 then io.stderr:write("unexpected body (", status, "): ", body:sub(1, 80), "\n") end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do total_bad = total_bad + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,' ..
    '"http_errors":%d,"bad_bodies":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, total_bad))
end

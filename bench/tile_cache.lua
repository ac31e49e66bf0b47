-- wrk script for bench/tile_cache.sh: random tiles, a fixed number of responses, status counts.
-- A share of the requests picks a tile inside the atlas's bounds (a random zoom of the given ranges,
-- then a random x, y of that zoom's range: mostly real tiles); the rest picks any z/x/y of the world
-- at z0..world_zmax (mostly outside the atlas: 204; z beyond the TileJSON maxzoom: 404). Random layer.
-- Each thread stops after its quota of responses and appends a line to done_file; the script then
-- interrupts wrk (whose main thread otherwise sleeps for the whole -d).
-- Usage: wrk -s bench/tile_cache.lua URL -- RANGES WORLD_ZMAX INSIDE QUOTA DONE_FILE SEED
--   RANGES: "z,x0,x1,y0,y1;z,x0,x1,y0,y1;..."   INSIDE: share in [0, 1]   QUOTA: responses per thread
local threads = {}
local id_counter = 0
local layers = { "cells", "boundaries", "labels" }

function setup(thread)
  thread:set("id", id_counter)
  id_counter = id_counter + 1
  table.insert(threads, thread)
end

function init(args)
  ranges = {}
  for z, x0, x1, y0, y1 in string.gmatch(args[1], "(%d+),(%d+),(%d+),(%d+),(%d+)") do
    table.insert(ranges, { tonumber(z), tonumber(x0), tonumber(x1), tonumber(y0), tonumber(y1) })
  end
  world_zmax = tonumber(args[2])
  inside = tonumber(args[3])
  quota = tonumber(args[4])
  done_file = args[5]
  math.randomseed(tonumber(args[6]) * 1000 + id)
  counts = {}
  responses = 0
  stopped = false
end

function request()
  local layer = layers[math.random(1, 3)]
  local z, x, y
  if math.random() < inside then
    local r = ranges[math.random(1, #ranges)]
    z, x, y = r[1], math.random(r[2], r[3]), math.random(r[4], r[5])
  else
    z = math.random(0, world_zmax)
    local n = 2 ^ z
    x, y = math.random(0, n - 1), math.random(0, n - 1)
  end
  return wrk.format("GET", string.format("/tiles/%s/%d/%d/%d.mvt", layer, z, x, y),
    { ["Accept-Encoding"] = "gzip" })
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  responses = responses + 1
  if responses >= quota and not stopped then
    stopped = true
    local f = io.open(done_file, "a")
    if f then
      f:write(id, "\n")
      f:close()
    end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total, statuses = 0, {}
  for _, thread in ipairs(threads) do
    total = total + (thread:get("responses") or 0)
    for status, n in pairs(thread:get("counts") or {}) do
      statuses[status] = (statuses[status] or 0) + n
    end
  end
  local keys = {}
  for status in pairs(statuses) do table.insert(keys, status) end
  table.sort(keys)
  local parts = {}
  for _, status in ipairs(keys) do
    table.insert(parts, string.format("%d=%d", status, statuses[status]))
  end
  local e = summary.errors
  io.write(string.format("LUA responses=%d statuses=%s errors=%d seconds=%.1f p99_ms=%.1f\n",
    total, table.concat(parts, ","), e.connect + e.read + e.write + e.timeout,
    summary.duration / 1e6, latency:percentile(99) / 1000))
end

-- wrk script: each thread walks its own slice of the tile URL list once (cold) or in a loop
-- (warm), with gzip accepted as browsers do (ENCODING=identity: without Accept-Encoding).
-- Usage: [ENCODING=gzip|identity] wrk -s bench/tiles.lua ... -- urls.txt cold|warm
local urls = {}
local mode = "warm"
local threads = {}
local id_counter = 0

function setup(thread)
  thread:set("id", id_counter)
  id_counter = id_counter + 1
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do table.insert(urls, line) end
  mode = args[2] or "warm"
  n_threads = tonumber(os.getenv("WRK_THREADS") or "2")
  index = id + 1
  done = false
  headers = {}
  if (os.getenv("ENCODING") or "gzip") == "gzip" then headers["Accept-Encoding"] = "gzip" end
end

function request()
  if index > #urls then
    if mode == "cold" then
      wrk.thread:stop()
      return wrk.format("GET", urls[1])
    end
    index = id + 1
  end
  local path = urls[index]
  index = index + n_threads
  return wrk.format("GET", path, headers)
end

-- wrk script of `npm run bench`: a random walk over a list of tile URLs.
--   wrk ... -s bench/walk.lua http://127.0.0.1:PORT -- URLFILE [SEED]
-- URLFILE holds one path per line ("/tiles/id/z/x/y.pbf?v=..."), optionally followed by a tab and
-- an ETag, then sent as If-None-Match (the 304 revalidation walk). Each request is built once in
-- init(); request() only picks one at random, with a fixed seed per thread, so every run walks
-- the same sequence. done() prints one JSON line for the benchmark to read.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  local file = args[1]
  local seed = tonumber(args[2] or "1")
  requests = {}
  for line in io.lines(file) do
    local path, etag = line:match("^([^\t]+)\t?(.*)$")
    if path then
      local headers = {}
      for k, v in pairs(wrk.headers) do headers[k] = v end
      if etag ~= "" then headers["If-None-Match"] = etag end
      requests[#requests + 1] = wrk.format("GET", path, headers)
    end
  end
  if #requests == 0 then error("no URL in " .. tostring(file)) end
  math.randomseed(seed * 1000 + (tid or 0))
end

function request()
  return requests[math.random(#requests)]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"bytes":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end

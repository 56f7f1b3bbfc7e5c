-- wrk: each connection waits 2 ms before each request, so 8 connections offer at most
-- 4,000 requests/s: a server with headroom, where p99 measures serving, not queueing.
function delay()
  return 2
end

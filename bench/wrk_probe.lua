-- wrk script: a slow, steady probe of a cheap location (GET, `return 200`)
-- on the gateway's worker while another wrk saturates it with payouts.
-- Each connection waits PROBE_DELAY_MS (default 5) between requests, so the
-- probe adds little load and its latency shows how long the event loop
-- stalls.  wrk starts the clock when it writes the request, so the delay is
-- not counted.
--
-- done() prints: PROBE requests=N p50_us=N p99_us=N max_us=N non200=N

local delay_ms = tonumber(os.getenv("PROBE_DELAY_MS") or "5")
non200 = 0
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function delay()
    return delay_ms
end

function response(status, headers, body)
    if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
    local bad = 0
    for _, t in ipairs(threads) do bad = bad + (t:get("non200") or 0) end
    io.write(string.format("PROBE requests=%d p50_us=%d p99_us=%d max_us=%d "
        .. "non200=%d errors=%d\n", summary.requests, latency:percentile(50),
        latency:percentile(99), latency.max, bad,
        summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.timeout))
end

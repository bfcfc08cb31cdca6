-- wrk script: POSTs payout bodies and counts responses by status.
--
--   BODY_FILE=body.json wrk -s bench/wrk_post.lua URL
--       one body, the same for every request
--   BODY_LINES=bodies.txt wrk -s bench/wrk_post.lua URL
--       one body per line, "V<TAB>json" (valid) or "I<TAB>json" (invalid),
--       cycled in order; sent bodies are counted by class
--
-- done() prints one line that bench.sh / soak.sh parse:
--   RESULT requests=N duration_us=N rps=N p50_us=N p90_us=N p99_us=N
--          max_us=N status_200=N status_400=N ... non200=N
--          err_connect=N err_read=N err_write=N err_timeout=N
--          sent_valid=N sent_invalid=N

local bodies, classes = {}, {}
local n, i = 0, 0
sent_valid, sent_invalid = 0, 0
statuses = {}

local lines = os.getenv("BODY_LINES")
local file = os.getenv("BODY_FILE")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

if lines then
    for line in io.lines(lines) do
        local class, body = line:match("^([VI])\t(.*)$")
        if class then
            n = n + 1
            bodies[n] = body
            classes[n] = class
        end
    end
    assert(n > 0, "no bodies in " .. lines)
elseif file then
    local f = assert(io.open(file, "rb"))
    wrk.body = f:read("*a")
    f:close()
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

if lines then
    function request()
        i = i % n + 1
        if classes[i] == "V" then
            sent_valid = sent_valid + 1
        else
            sent_invalid = sent_invalid + 1
        end
        return wrk.format(nil, nil, nil, bodies[i])
    end
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local total, non200 = {}, 0
    local sv, si = 0, 0
    for _, t in ipairs(threads) do
        local s = t:get("statuses")
        for k, v in pairs(s) do
            total[k] = (total[k] or 0) + v
        end
        sv = sv + (t:get("sent_valid") or 0)
        si = si + (t:get("sent_invalid") or 0)
    end
    local st = {}
    for k, v in pairs(total) do
        table.insert(st, string.format("status_%d=%d", k, v))
        if k ~= 200 then non200 = non200 + v end
    end
    table.sort(st)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d "
        .. "p99_us=%d max_us=%d %s non200=%d err_connect=%d err_read=%d "
        .. "err_write=%d err_timeout=%d sent_valid=%d sent_invalid=%d\n",
        summary.requests, summary.duration,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max, table.concat(st, " "), non200,
        e.connect, e.read, e.write, e.timeout, sv, si))
end

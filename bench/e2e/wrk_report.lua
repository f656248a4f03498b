-- wrk reporter for bench/e2e.py: one machine-readable line at the end of a
-- run, so the driver does not parse wrk's human summary (whose units vary).
-- Latencies are wrk's (request written -> response read), in microseconds.
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"E2E requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d " ..
		"err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
		summary.requests, summary.duration, summary.bytes,
		latency:percentile(50.0), latency:percentile(99.0),
		e.connect, e.read, e.write, e.status, e.timeout))
end

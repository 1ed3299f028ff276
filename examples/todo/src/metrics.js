// Prometheus metrics of the service: requests by status code and their duration (text exposition format).
// Prometheus adds namespace, pod, service and track from the pod (see the pod annotations in k8s/).
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const requests = new Map(); // code -> count
const buckets = BUCKETS.map(() => 0);
let count = 0;
let sum = 0;

/** Counts the response when it finishes. */
function observe(req, res) {
  const start = process.hrtime.bigint();
  res.on('finish', () => {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const code = String(res.statusCode);
    requests.set(code, (requests.get(code) || 0) + 1);
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) buckets[i]++;
    });
    count++;
    sum += seconds;
  });
}

function serve(res) {
  const lines = [
    '# HELP http_requests_total HTTP requests served, by status code.',
    '# TYPE http_requests_total counter',
    ...[...requests].map(([code, n]) => `http_requests_total{code="${code}"} ${n}`),
    '# HELP http_request_duration_seconds Time to serve an HTTP request.',
    '# TYPE http_request_duration_seconds histogram',
    ...BUCKETS.map((le, i) => `http_request_duration_seconds_bucket{le="${le}"} ${buckets[i]}`),
    `http_request_duration_seconds_bucket{le="+Inf"} ${count}`,
    `http_request_duration_seconds_sum ${sum}`,
    `http_request_duration_seconds_count ${count}`,
    '',
  ];
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
  res.end(lines.join('\n'));
}

module.exports = { observe, serve };

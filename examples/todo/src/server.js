// The tasks service: keeps tasks in memory (mongo in the real app) and asks search to index them.
const http = require('node:http');
const path = require('node:path');
const metrics = require('./metrics');

const port = Number(process.env.PORT || 8080);

// Looked up on every request, so a reload (below) serves the synced code at once.
let handle = require('./tasks').handle;

// Set on SIGTERM: the pod is leaving, readiness fails and connections are not kept alive.
let draining = false;

const server = http.createServer((req, res) => {
  if (draining) res.setHeader('connection', 'close');
  if (req.url === '/healthz') {
    if (draining) res.statusCode = 503;
    return res.end(draining ? 'draining' : 'ok');
  }
  if (req.url === '/metrics') return metrics.serve(res);
  metrics.observe(req, res);
  try {
    handle(req, res);
  } catch (err) {
    console.error(`tasks: ${req.method} ${req.url} failed: ${err.stack || err}`);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'internal error' }));
  }
});
server.listen(port, () => console.log(`tasks listening on ${port}`));

// SIGHUP (Sandpiper's sync sends it) reloads the handlers without dropping the server or its connections:
// every module of src/ but this one and the ones that hold state is loaded afresh.
const KEEP = new Set(['server.js', 'store.js', 'metrics.js'].map((f) => path.join(__dirname, f)));
process.on('SIGHUP', () => {
  for (const file of Object.keys(require.cache))
    if (file.startsWith(__dirname + path.sep) && !KEEP.has(file)) delete require.cache[file];
  try {
    handle = require('./tasks').handle;
    console.log('tasks reloaded');
  } catch (err) {
    // A syntax error in the synced code: keep serving the last good handlers and say why.
    console.error(`tasks: reload failed, still serving the previous code: ${err.stack || err}`);
  }
});

// SIGTERM: keep serving while the endpoints and the gateway catch up (DRAIN_SECONDS, default 5), then stop taking
// connections and exit once in-flight requests are answered — so a rollout or scale-down drops no request.
process.on('SIGTERM', () => {
  if (draining) return;
  draining = true;
  const drainMs = 1000 * Number(process.env.DRAIN_SECONDS ?? 5);
  console.log(`tasks draining for ${drainMs / 1000}s`);
  setTimeout(() => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  }, drainMs).unref();
});

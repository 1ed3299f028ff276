const { tasks } = require('./store');

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** GET /tasks lists, POST /tasks {title} adds. */
function handle(req, res) {
  if (req.url !== '/tasks') return send(res, 404, { error: 'not found' });
  if (req.method === 'GET') return send(res, 200, tasks);
  if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const { title } = JSON.parse(body || '{}');
    if (!title) return send(res, 400, { error: 'title is required' });
    const task = { id: tasks.length + 1, title, done: false };
    tasks.push(task);
    send(res, 201, task);
  });
}

module.exports = { handle };

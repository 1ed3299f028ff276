// The tasks service: keeps tasks in memory (mongo in the real app) and asks search to index them.
const http = require('node:http');
const { handle } = require('./tasks');

const port = Number(process.env.PORT || 8080);
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  handle(req, res);
});
server.listen(port, () => console.log(`tasks listening on ${port}`));

// SIGHUP reloads the handlers after a sync, without dropping the server.
process.on('SIGHUP', () => {
  delete require.cache[require.resolve('./tasks')];
  console.log('tasks reloaded');
});

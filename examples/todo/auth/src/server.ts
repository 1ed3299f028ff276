// The auth service: the gateway asks it about every request (Traefik ForwardAuth). HTTP Basic credentials that
// match a user of the Secret todo-users answer 200 with X-Auth-User; anything else answers 401 and the challenge.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../../lib/json';
import { Router } from '../../lib/router';
import { log, serve } from '../../lib/server';
import { parseBasic, verify } from './credentials';
import { UsersFile } from './usersFile';

const say = (message: string) => log('auth', message);
const users = new UsersFile(process.env.USERS_FILE || '/etc/todo-users/users', say);

function check(req: IncomingMessage, res: ServerResponse): void {
  const creds = parseBasic(req.headers.authorization);
  if (creds && verify(users.current(), creds)) {
    res.setHeader('x-auth-user', creds.name);
    return sendJson(res, 200, { user: creds.name });
  }
  res.setHeader('www-authenticate', 'Basic realm="todo"');
  sendJson(res, 401, { error: creds ? 'wrong user name or password' : 'credentials required' });
}

// ForwardAuth sends every request to one address (/check) with the original method; any path answers the same.
const router = new Router().otherwise('/check', check);

users.current(); // read (and log) the users at start
serve({ name: 'auth', router });

// HTTP Basic credentials and the users file (lines `name:password`), checked in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface Credentials {
  name: string;
  password: string;
}

/** The users of a `name:password` file: one a line; blank lines and `#` comments are skipped. */
export function parseUsers(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // no name: not a user line
    users.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return users;
}

/** The credentials of an `Authorization: Basic base64(name:password)` header, or undefined. */
export function parseBasic(header: string | undefined): Credentials | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Whether the credentials name a user with that password. Both the name and the password are compared in
 * constant time (on their SHA-256, so lengths leak nothing either), and an unknown name costs the same as a known one.
 */
export function verify(users: ReadonlyMap<string, string>, c: Credentials): boolean {
  let ok = false;
  for (const [name, password] of users) {
    // No early exit: every user is compared, whichever matches.
    const nameMatches = same(name, c.name);
    const passwordMatches = same(password, c.password);
    ok = (nameMatches && passwordMatches) || ok;
  }
  return ok;
}

function same(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

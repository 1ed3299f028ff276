// The users file mounted from the Secret todo-users. Kubernetes updates a mounted Secret by swapping a symlink,
// so the file is re-read when what it resolves to changes (checked at most once per `recheckMs`), not watched.
import * as fs from 'node:fs';
import { parseUsers } from './credentials';

export class UsersFile {
  private users = new Map<string, string>();
  private stamp = '';
  private checkedAt = -Infinity;

  constructor(
    readonly file: string,
    private readonly log: (message: string) => void,
    private readonly recheckMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The current users; an unreadable file means no users (every request is refused) and is logged once. */
  current(): ReadonlyMap<string, string> {
    if (this.now() - this.checkedAt < this.recheckMs) return this.users;
    this.checkedAt = this.now();
    let stamp: string;
    try {
      const st = fs.statSync(this.file);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      stamp = `missing:${(err as NodeJS.ErrnoException).code}`;
    }
    if (stamp === this.stamp) return this.users;
    this.stamp = stamp;
    try {
      this.users = parseUsers(fs.readFileSync(this.file, 'utf8'));
      this.log(`users: ${this.users.size} user(s) read from ${this.file}`);
    } catch (err) {
      this.users = new Map();
      this.log(`users: cannot read ${this.file}, refusing everyone: ${(err as Error).message}`);
    }
    return this.users;
  }
}

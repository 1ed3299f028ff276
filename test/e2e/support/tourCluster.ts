// The cluster side of the tour: the staging baseline behind the gateway (Basic credentials), what a request through
// it or to the env answers, and putting staging back the way the tour found it.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { strategicMergePatch, type Kube } from '../../../src/core/infra/kube/client';

export interface Staging {
  /** Where to connect: the testbed's gateway (http://127.0.0.1:<port>); `hostname` goes in the Host header. */
  gatewayUrl: string;
  /** What a browser opens: http://<hostname>:<port> (*.localhost is loopback to a browser, no DNS). */
  url: string;
  hostname: string;
  user: string;
  password: string;
  namespace: string;
}

export function basicAuth(s: Pick<Staging, 'user' | 'password'>): string {
  return `Basic ${Buffer.from(`${s.user}:${s.password}`).toString('base64')}`;
}

/** One request (with `host`, that Host header); never rejects: a network error is status 0 with the message. */
export function request(
  url: string,
  o: { method?: string; body?: unknown; auth?: string; host?: string; timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method: o.method ?? 'GET',
        agent: false,
        timeout: o.timeoutMs ?? 30_000,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(o.auth ? { authorization: o.auth } : {}),
          ...(o.host ? { host: o.host } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', (e) => resolve({ status: 0, text: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs ?? 30_000} ms`)));
    req.on('error', (e) => resolve({ status: 0, text: e.message }));
    req.end(body);
  });
}

/** The image of `container` in Deployment `name`. */
export async function deploymentImage(kube: Kube, namespace: string, name: string, container = name): Promise<string> {
  const d = await kube.apps.readNamespacedDeployment({ namespace, name });
  const c = d.spec?.template.spec?.containers.find((x) => x.name === container);
  if (!c?.image) throw new Error(`Deployment ${namespace}/${name} has no container ${container}`);
  return c.image;
}

/** Puts `image` back into Deployment `name` (the tour promotes its own build into staging). Never throws. */
export async function restoreImage(kube: Kube, namespace: string, name: string, image: string): Promise<void> {
  try {
    if ((await deploymentImage(kube, namespace, name)) === image) return;
    await kube.apps.patchNamespacedDeployment(
      {
        namespace,
        name,
        body: { spec: { template: { spec: { containers: [{ name, image }] } } } },
      },
      // A strategic merge patch: the container is matched by name.
      strategicMergePatch(),
    );
  } catch (err) {
    console.warn(`[tour] could not put ${image} back into ${namespace}/${name}: ${(err as Error).message}`);
  }
}

/** Whether a process whose command line matches `command` runs in `dir` (a task the workbench started). */
export function runningIn(dir: string, command: RegExp): boolean {
  const real = fs.realpathSync(dir);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      if (cwd !== real && !cwd.startsWith(real + path.sep)) continue;
      if (command.test(fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' '))) return true;
    } catch {
      /* gone */
    }
  }
  return false;
}

/**
 * Processes running in `dir` (the `watch` task: npm, esbuild). The integrated terminal starts them in a session of
 * their own, so stopping code-server's process group leaves them running; they are ended by their PIDs.
 */
export function stopProcessesIn(dir: string): number[] {
  const stopped: number[] = [];
  const real = fs.realpathSync(dir);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cwd: string;
    try {
      cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      continue;
    }
    if (cwd !== real && !cwd.startsWith(real + path.sep)) continue;
    try {
      process.kill(Number(entry), 'SIGTERM');
      stopped.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return stopped;
}

import { PassThrough, Writable } from 'node:stream';
import { Exec, type V1Status } from '@kubernetes/client-node';
import { SandpiperError, cancelled } from '../../errors';
import { type Kube } from './client';
import { clusterOf, kubeError, markCluster } from './errors';

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  /** Bytes sent on stdin. The pipe is left open until the command ends: some runtimes (and kwok) never close it. */
  stdin?: Buffer;
  signal?: AbortSignal;
  /** Ends the exec with an error when the command has not finished by then. */
  timeoutMs?: number;
}

const STDIN_SLICE = 256 * 1024;

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The runtime's own words when the command failed (e.g. that the executable was not found). */
  message?: string;
}

/** Runs one command in a container and returns its output and exit status (read from the v1 Status channel). */
export async function execInPod(kube: Kube, req: ExecRequest): Promise<ExecResult> {
  if (req.signal?.aborted) throw cancelled();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = collect(out);
  const stderr = collect(err);
  const stdin = req.stdin ? new PassThrough() : null;
  const where = `pod ${req.namespace}/${req.pod} (container ${req.container})`;

  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    let socket: { close(): void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      // Closing stdin only now: with the pre-v5 protocols, ending stdin closes the whole exec.
      socket?.close();
      fn();
    };
    const onAbort = (): void => finish(() => reject(cancelled()));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.timeoutMs) {
      timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new SandpiperError(
                'exec-timeout',
                `A command in ${where} did not finish within ${req.timeoutMs} ms.`,
                'Check that the container is running and not overloaded.',
              ),
            ),
          ),
        req.timeoutMs,
      );
    }
    const onStatus = (status: V1Status): void => {
      finish(() =>
        resolve({
          exitCode: exitCodeOf(status),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          message: status.message,
        }),
      );
    };
    new Exec(kube.config)
      .exec(req.namespace, req.pod, req.container, req.command, stdout, stderr, stdin, false, onStatus)
      .then((ws) => {
        socket = ws;
        if (settled) ws.close();
        ws.on('close', () => {
          // A socket closing without a status means the stream broke (pod gone, apiserver restart).
          setTimeout(
            () =>
              finish(() =>
                reject(
                  new SandpiperError(
                    'exec-broken',
                    `The exec connection to ${where} closed before the command finished.`,
                    'The pod may have restarted; it is retried.',
                  ),
                ),
              ),
            50,
          );
        });
        // In slices: one huge websocket frame can exceed a proxy's message limit.
        if (stdin && req.stdin)
          for (let i = 0; i < req.stdin.length; i += STDIN_SLICE) stdin.write(req.stdin.subarray(i, i + STDIN_SLICE));
      })
      .catch((e: unknown) => finish(() => reject(execConnectError(markCluster(e, clusterOf(kube.config)), where))));
  });
}

function collect(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      into.push(Buffer.from(chunk));
      cb();
    },
  });
}

/** Success has no code; failures carry it in details.causes[reason=ExitCode]. */
export function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message !== undefined && /^\d+$/.test(cause.message)) return Number(cause.message);
  // Runtimes that lose the typed exit error (kwok wraps it) still say it in the message.
  const said = /exit status (\d+)/.exec(status.message ?? '');
  return said ? Number(said[1]) : -1;
}

function execConnectError(e: unknown, where: string): SandpiperError {
  // The websocket upgrade failure carries the HTTP status in its message ("Unexpected server response: 404").
  const m = /Unexpected server response: (\d+)/.exec(String((e as Error)?.message ?? e));
  if (m?.[1] === '403')
    return new SandpiperError(
      'forbidden',
      `Forbidden to exec into ${where}.`,
      'Ask for the RBAC permission create on pods/exec in this namespace.',
    );
  if (m?.[1] === '404')
    return new SandpiperError(
      'not-found',
      `Cannot exec into ${where}: the pod or container does not exist.`,
      'The pod may have been replaced; it is retried on the new one.',
    );
  return kubeError(e, `exec into ${where}`);
}

// Every "the cluster does not answer" names the context and the server: refused, no such host (DNS), not TLS,
// an untrusted certificate, and the reachability check's own timeout.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { SandpiperError } from '../../../src/core/errors';
import { listEnvironments } from '../../../src/core/env/lifecycle';
import { Kube } from '../../../src/core/infra/kube/client';
import { execInPod } from '../../../src/core/infra/kube/exec';
import { isConnectionFailure, kubeError } from '../../../src/core/infra/kube/errors';
import { apiSource, watchUntil } from '../../../src/core/infra/kube/watch';
import { followContainerLog } from '../../../src/core/logs/follow';
import { StandInServer } from './standInServer';

function kubeAt(server: string, skipTLSVerify = true): Kube {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'team-dev', cluster: 'c', user: 'u' }],
    currentContext: 'team-dev',
  });
  return new Kube(kc, { requestTimeoutMs: 5000 });
}

async function failure(work: Promise<unknown>): Promise<SandpiperError> {
  const err = await work.then(
    () => assert.fail('succeeded against a cluster that cannot answer'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SandpiperError, String(err));
  return err;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('"the cluster does not answer" names the context and the server', () => {
  it('connection refused, on any request (not only the reachability check)', async () => {
    const server = `http://127.0.0.1:${await closedPort()}`;
    const err = await failure(listEnvironments(kubeAt(server)));
    assert.equal(err.code, 'unreachable');
    assert.match(
      err.message,
      new RegExp(
        `^Cannot list the Sandpiper environments: the cluster of context "team-dev" \\(${esc(server)}\\) does not answer \\(ECONNREFUSED\\)\\.$`,
      ),
    );
    assert.match(err.hint!, /pick another context/);
  });

  it('a server name that does not resolve (DNS)', async () => {
    const server = 'https://sandpiper-no-such-host.invalid:6443';
    const err = await failure(kubeAt(server).checkReachable(5000));
    assert.equal(err.code, 'unreachable');
    assert.match(
      err.message,
      new RegExp(
        `the cluster of context "team-dev" \\(${esc(server)}\\) does not answer \\((ENOTFOUND|EAI_AGAIN)\\)\\.$`,
      ),
    );
  });

  it('TLS that fails (https to a server that speaks plain HTTP)', async () => {
    const standIn = new StandInServer((_req, res) => res.end('{}'));
    const kc = await standIn.start();
    try {
      const server = kc.getCurrentCluster()!.server.replace('http:', 'https:');
      const err = await failure(listEnvironments(kubeAt(server)));
      assert.equal(err.code, 'unreachable');
      assert.match(
        err.message,
        new RegExp(
          `^Cannot list the Sandpiper environments: the TLS connection to the cluster of context "team-dev" \\(${esc(server)}\\) failed \\(`,
        ),
      );
      assert.match(err.hint!, /certificate-authority/);
    } finally {
      await standIn.stop();
    }
  });

  it("the reachability check's own timeout names the context, the server and the time waited", async () => {
    const silent = net.createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const server = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
      const err = await failure(kubeAt(server).checkReachable(300));
      assert.equal(
        err.message,
        `Cannot reach the cluster: the cluster of context "team-dev" (${server}) does not answer (timed out after 0.3 s).`,
      );
    } finally {
      silent.close();
    }
  });

  it('certificate failures are TLS failures; other errors are not connection failures', () => {
    const untrusted = Object.assign(new Error('self-signed certificate'), {
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      cluster: 'of context "x" (https://10.0.0.1:6443)',
    });
    assert.ok(isConnectionFailure(untrusted));
    assert.equal(
      kubeError(untrusted, 'list pods').message,
      'Cannot list pods: the TLS connection to the cluster of context "x" (https://10.0.0.1:6443) failed ' +
        '(DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate).',
    );
    assert.ok(isConnectionFailure({ cause: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' } }));
    assert.ok(!isConnectionFailure(new Error('boom')));
    assert.ok(!isConnectionFailure({ code: 'ENOENT' }));
  });

  // Streams (watch, exec, logs) open their own connections, not through Kube's requests.
  describe('streams too: watch, exec and logs', () => {
    let server: string;
    let kube: Kube;
    const named = (err: SandpiperError) => {
      assert.equal(err.code, 'unreachable', err.message);
      assert.ok(err.message.includes(`of context "team-dev" (${server})`), err.message);
    };
    before(async () => {
      server = `http://127.0.0.1:${await closedPort()}`;
      kube = kubeAt(server);
    });

    it('a watch', async () => {
      const source = apiSource(kube.config, {
        path: '/api/v1/namespaces',
        // The list answers (as from a cache): the watch's own connection is what fails.
        list: async () => ({ items: [], resourceVersion: '1' }),
      });
      named(await failure(watchUntil(source, 'namespaces', () => ({ done: false }))));
    });

    it('an exec', async () => {
      named(await failure(execInPod(kube, { namespace: 'ns', pod: 'p', container: 'c', command: ['true'] })));
    });

    it('a log read', async () => {
      const read = followContainerLog({
        kc: kube.config,
        namespace: 'ns',
        pod: 'p',
        container: 'c',
        follow: false,
        signal: new AbortController().signal,
        onLine: () => undefined,
      });
      named(await failure(read));
    });
  });
});

// The Todo tour: a newcomer's first hour with the Todo example (examples/todo: tasks, search, auth, db, gateway), in
// real code-server + Chromium against the testbed's real node, as the README's "The Todo tour" tells it. The staging
// baseline is deployed by deployTodo (what npm start runs); the workspace is a git repository whose origin is the
// GitHub stand-in's. Each step asserts what the person sees and what the cluster did, and saves
// test-results/tour/NN-step.png (SANDPIPER_DOCS_SCREENSHOTS=1 also copies them to docs/images/tour/).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { deployTodo } from '../../scripts/todo.mjs';
import { environmentName } from '../../src/core/env/naming';
import { loadKube } from '../../src/core/infra/kube/client';
import { isPodReady } from '../../src/core/infra/kube/pods';
import { requireRealNode } from '../support/realPods';
import { loadTestbed, testbedEnv } from '../support/testbed';
import { eventually } from '../support/wait';
import { openWorkbench, waitForActivityBarIcon, type Workbench } from './support/browser';
import { CodeServer, repoRoot } from './support/codeServer';
import {
  basicAuth,
  deploymentImage,
  request,
  restoreImage,
  stopProcessesIn,
  type Staging,
} from './support/tourCluster';
import { TOUR_TOKEN, serviceConfigs, tourWorkspace, type TourWorkspace } from './support/tourWorkspace';
import { TourCanary } from './support/tourCanary';
import { TourSteps } from './support/tourSteps';

const VSIX = path.resolve(repoRoot(), process.env.SANDPIPER_VSIX ?? 'out/sandpiper-test.vsix');
const SERIES = 'tour';

describe('the Todo tour in code-server', function () {
  this.timeout(900_000);
  const tb = loadTestbed();
  const kube = loadKube({ kubeconfig: tb.kubeconfig });
  const branch = `tour-${Math.random().toString(36).slice(2, 7)}`;
  const namespace = environmentName('alice@example.com', branch);
  let staging: Staging | undefined;
  let stagingImage: string | undefined;
  let ws: TourWorkspace | undefined;
  let server: CodeServer | undefined;
  let bench: Workbench | undefined;
  let tour: TourSteps | undefined;
  let canary: TourCanary | undefined;
  /** The steps, once the setup opened the workbench (each test continues where the one before stopped). */
  const steps = (): TourSteps => {
    assert.ok(tour, 'the setup step opened the workbench');
    return tour;
  };

  after(async () => {
    await canary?.stopLoad();
    if (ws) console.log(`[tour] stopped the watch task's processes: ${stopProcessesIn(ws.dir).join(', ') || 'none'}`);
    await bench?.close();
    await server?.stop();
    if (ws) stopProcessesIn(ws.dir);
    await kube.core.deleteNamespace({ name: namespace }).catch(() => undefined);
    if (staging && stagingImage) await restoreImage(kube, staging.namespace, 'tasks', stagingImage);
    await ws?.remove();
  });

  it('setup: the staging baseline behind the gateway, the workspace in git, code-server', async () => {
    requireRealNode();
    fs.rmSync(path.join(repoRoot(), 'test-results', SERIES), { recursive: true, force: true });
    const started = Date.now();
    const deployed = await deployTodo({
      namespace: 'staging',
      env: testbedEnv(),
      log: (line) => console.log(`[tour] deployTodo: ${line}`),
    });
    assert.ok(deployed.gatewayUrl && deployed.url, 'the testbed has a gateway (SANDPIPER_GATEWAY_URL)');
    staging = { ...deployed, gatewayUrl: deployed.gatewayUrl, url: deployed.url };
    console.log(`[tour] staging baseline ready: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    stagingImage = await deploymentImage(kube, staging.namespace, 'tasks');

    ws = await tourWorkspace('sp-e2e-tour-', branch);
    assert.deepEqual(serviceConfigs(ws.dir), ['auth', 'db', 'gateway', 'search', 'tasks']);
    const env = testbedEnv();
    server = await CodeServer.start({
      workspace: ws.dir,
      vsix: VSIX,
      // asExternalUri maps a forwarded localhost port to code-server's /proxy/<port>/.
      proxy: true,
      env: {
        KUBECONFIG: tb.kubeconfig,
        DOCKER_HOST: env.DOCKER_HOST!,
        DOCKER_BUILDKIT: env.DOCKER_BUILDKIT ?? '0',
        SANDPIPER_REGISTRY: env.SANDPIPER_REGISTRY!,
        PROMETHEUS_URL: tb.prometheusUrl,
        PATH: env.PATH!,
        // The stand-in is not github.com: the extension host takes the token from GH_TOKEN, trusts its CA by file.
        GH_TOKEN: TOUR_TOKEN,
        NODE_EXTRA_CA_CERTS: ws.github.caFile,
      },
      settings: {
        'git.enabled': true,
        'git.enableSmartCommit': true,
        'workbench.view.alwaysShowHeaderActions': true,
        'sandpiper.github.approvedHosts': [ws.github.host],
        // Node's own agent reads NODE_EXTRA_CA_CERTS; VS Code's proxy agent would not (see pr.e2e).
        'http.proxySupport': 'off',
        'http.fetchAdditionalSupport': false,
        // The terminal's text in the DOM, where the test can read the watch task's output.
        'terminal.integrated.gpuAcceleration': 'off',
        'task.problemMatchers.neverPrompt': true,
      },
    });
    // Machine-scoped settings (the GitHub API URL) live with the server, not in the user's settings.
    fs.mkdirSync(path.join(server.userDataDir, 'Machine'), { recursive: true });
    fs.writeFileSync(
      path.join(server.userDataDir, 'Machine', 'settings.json'),
      JSON.stringify({ 'sandpiper.github.baseUrl': ws.github.baseUrl }),
    );
    bench = await openWorkbench(server, { viewport: { width: 1440, height: 900 } });
    const t = new TourSteps({ bench, kube, ws, staging, namespace, series: SERIES });
    tour = t;
    canary = new TourCanary(t);
    await t.step('00-workspace', async (page: Page) => {
      await (await waitForActivityBarIcon(page, 'Sandpiper')).click();
      await (await waitForActivityBarIcon(page, 'Explorer')).click();
      await page.waitForTimeout(500);
      await t.shot('00-workspace');
    });
  });

  it('1. creates an environment for tasks from the palette: search shared, db copied', async () => {
    await steps().createEnvironment();
    const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=tasks' })).items;
    assert.equal(pods.length, 1, `one pod of tasks in ${namespace}`);
    assert.ok(isPodReady(pods[0]), `${pods[0].metadata?.name} is Ready`);
    assert.equal(pods[0].spec?.nodeName, requireRealNode().node, 'it runs on the real node');
    const search = await kube.core.readNamespacedService({ namespace, name: 'search' });
    assert.equal(search.spec?.type, 'ExternalName', 'search is shared from staging');
    assert.match(search.spec?.externalName ?? '', /^search\.staging\.svc\./);
    const db = await kube.apps.readNamespacedDeployment({ namespace, name: 'db' });
    assert.ok((db.status?.readyReplicas ?? 0) >= 1, 'db is copied into the environment and ready');
  });

  it('2. Open in Browser shows the Todo page of the env; a task is added; staging asks for credentials', async () => {
    const t = steps();
    await t.openTodoPage();
    await t.addTaskInPage('Try the Todo tour', /Try the Todo tour/);
    await t.shot('03-task-added', t.todoPage);
    const { gatewayUrl, hostname } = staging!;
    const without = await request(new URL('/tasks', gatewayUrl).href, { host: hostname });
    assert.equal(without.status, 401, `the gateway without credentials: ${without.status} ${without.text}`);
    const withCreds = await request(new URL('/tasks', gatewayUrl).href, { host: hostname, auth: basicAuth(staging!) });
    assert.equal(withCreds.status, 200, `the gateway with credentials: ${withCreds.status} ${withCreds.text}`);
    assert.ok(Array.isArray(JSON.parse(withCreds.text)), 'staging lists its tasks as a JSON array');
    await t.stagingThroughGateway();
  });

  it('3. with the watch task running, an edit of a handler in tasks/src is served in the env', async () => {
    await steps().runWatchTask();
    await steps().editCreateHandler();
  });

  it('4. a breakpoint in tasks/src/routes.ts hits through "Sandpiper: tasks in <env>"', async () => {
    await steps().debugCreateHandler();
  });

  it('5. Open Logs finds the request in the env’s log', async () => {
    await steps().openLogs();
  });

  it('6. a canary of tasks against staging, under real traffic through the gateway, is promoted', async () => {
    steps();
    await canary!.good();
  });

  it('7. a bad canary (a handler answering 500) is rolled back by the analysis', async () => {
    steps();
    await canary!.bad();
    await canary!.stopLoad();
  });

  it('8. Create Draft Pull Request: the stand-in receives a draft with the suggested reviewers', async () => {
    await steps().draftPullRequest();
    const github = ws!.github;
    const create = github.requests.find((r) => r.operationId === 'pulls/create');
    assert.ok(create, `the stand-in received no pull request: ${github.sequence().join(', ')}`);
    const body = create.body as Record<string, unknown>;
    assert.equal(body.draft, true);
    assert.equal(body.head, branch);
    assert.match(String(body.body), new RegExp(namespace), 'the body names the environment');
    const reviewers = github.requests.find((r) => r.operationId === 'pulls/request-reviewers');
    assert.ok(reviewers, `no review request: ${github.sequence().join(', ')}`);
    const asked = reviewers.body as { reviewers: string[]; team_reviewers: string[] };
    assert.ok(
      asked.reviewers.includes('bob-b'),
      `bob-b (CODEOWNERS of tasks/, its author) is asked: ${JSON.stringify(asked)}`,
    );
    assert.ok(asked.team_reviewers.includes('tasks-team'), `the tasks team is asked: ${JSON.stringify(asked)}`);
    assert.ok(ws!.remoteBranches().includes(branch), 'the branch was pushed');
  });

  it('9. Delete Environment', async () => {
    await steps().deleteEnvironment();
    await eventually(
      `${namespace} gone or terminating`,
      async () => {
        const after = await kube.core.readNamespace({ name: namespace }).catch(() => undefined);
        return !after || after.status?.phase === 'Terminating';
      },
      60_000,
    );
  });
});

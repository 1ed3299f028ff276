import * as os from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_CANARY, type CanaryConfig, type SandpiperConfig } from '../../core/config/types';
import { SandpiperError, cancelled } from '../../core/errors';
import { buildServiceImage } from '../../core/build/pipeline';
import { type Kube } from '../../core/infra/kube/client';
import { httpCode, kubeError } from '../../core/infra/kube/errors';
import { prometheusUrl } from '../../core/infra/prometheus';
import { argoRollout, runArgoAction, type ArgoAction, undoDeployment } from '../../core/workloads/actions';
import { startCanary, overrideCanary, canaryState, type CanaryOverride } from '../../core/canary/control';
import { liveDriver } from '../../core/canary/lease';
import { liveController } from '../../core/canary/presence';
import { CLIENT_DRIVER_NOTICE, DRIVER_CHOICES, chooseDriver, type DriverChoice } from '../../core/canary/handOff';
import type { CanaryState } from '../../core/canary/state';
import { RolloutModel, watchNamespace, type WorkloadSummary } from '../../core/workloads/model';
import { configFor, globals, kubeFor, printJson, type CliContext } from '../main';
import { unlessAborted, untilAborted } from '../interrupt';
import { durationMs, durationText, parsedOption, percentages, wholeNumber } from '../options';
import { drive, follow, followHint, type DriveOptions } from './rolloutDrive';

type TargetOptions = Pick<DriveOptions, 'namespace' | 'json'>;
interface StartOptions extends DriveOptions {
  image?: string;
  container?: string;
  steps?: number[];
  interval?: number;
  failureLimit?: number;
  detach?: boolean;
  driver?: DriverChoice;
}

function namespaceOf(kube: Kube, o: TargetOptions): string {
  return o.namespace ?? kube.defaultNamespace;
}

/** The canary settings: sandpiper.yaml's service (when there is one), then the flags. */
async function canaryConfig(
  cmd: Command,
  service: string,
  o: StartOptions | DriveOptions,
): Promise<{ canary: CanaryConfig; container?: string }> {
  let config: SandpiperConfig | undefined;
  if (globals(cmd).dir || o.service) config = await configFor(cmd);
  else config = await configFor(cmd).catch(() => undefined);
  const svc = config?.services[o.service ?? service];
  const base = svc?.canary ?? DEFAULT_CANARY;
  const s = o as StartOptions;
  // The flags arrive checked (../options): a NaN never reaches the analysis.
  const steps = s.steps ?? base.steps;
  const intervalMs = s.interval ?? base.intervalMs;
  const failureLimit = s.failureLimit ?? base.analysis.failureLimit;
  return {
    canary: { ...base, steps, intervalMs, analysis: { ...base.analysis, failureLimit } },
    container: s.container ?? svc?.container,
  };
}

function driverChoice(text: string): DriverChoice {
  if ((DRIVER_CHOICES as readonly string[]).includes(text)) return text as DriverChoice;
  throw new InvalidArgumentError(`Use one of ${DRIVER_CHOICES.join(', ')}.`);
}

/** Whether the in-cluster controller drives (or is about to pick up) this canary: then a client only steers. */
async function controllerDrives(kube: Kube, state: CanaryState | undefined): Promise<boolean> {
  return state?.driver === 'controller' && !!(await liveController(kube));
}

/** A canary that records its settings (spec) is driven by them; an older one by sandpiper.yaml and the flags. */
async function settingsFor(
  cmd: Command,
  deployment: string,
  o: DriveOptions,
  state: CanaryState | undefined,
): Promise<CanaryConfig | undefined> {
  return state?.spec ? undefined : (await canaryConfig(cmd, deployment, o)).canary;
}

/** The canary's image built from the workspace (the service's image.build), pinned by digest. */
async function workspaceImage(cmd: Command, serviceName: string, signal: AbortSignal): Promise<string> {
  const config = await configFor(cmd);
  const service = config.services[serviceName];
  if (!service?.image?.build)
    throw new SandpiperError(
      'usage',
      service
        ? `Service "${serviceName}" has no image.build in sandpiper.yaml, so there is nothing to build the canary from.`
        : `sandpiper.yaml has no service "${serviceName}" to build the canary from (it has: ${Object.keys(config.services).join(', ')}).`,
      'Pass --image <ref>, or --service <name> naming a service with image: { build: . }.',
    );
  process.stderr.write(`… Building the canary image of ${serviceName}\n`);
  const built = await buildServiceImage(config, service, {
    signal,
    onProgress: (_s, line) => process.stderr.write(`· ${line}\n`),
  });
  return built.ref;
}

async function kindOf(kube: Kube, namespace: string, name: string): Promise<'Deployment' | 'Rollout'> {
  try {
    await kube.apps.readNamespacedDeployment({ namespace, name });
    return 'Deployment';
  } catch (err) {
    if (httpCode(err) !== 404) throw kubeError(err, `read Deployment ${namespace}/${name}`);
  }
  try {
    await kube.custom.getNamespacedCustomObject(argoRollout(namespace, name));
    return 'Rollout';
  } catch {
    throw new SandpiperError(
      'not-found',
      `No Deployment or Rollout "${name}" in ${namespace}.`,
      'Check the name and --namespace.',
    );
  }
}

async function listWorkloads(kube: Kube, namespace: string): Promise<WorkloadSummary[]> {
  const model = new RolloutModel();
  const w = await watchNamespace(kube, namespace, model, { onChange: () => undefined });
  w.dispose();
  return model.summaries();
}

/** Prints a workload's status each time it changes, until the signal fires. */
async function watchStatus(
  kube: Kube,
  namespace: string,
  name: string | undefined,
  json: boolean,
  signal: AbortSignal,
): Promise<void> {
  const model = new RolloutModel();
  const printed = new Map<string, string>();
  const show = () => {
    for (const w of model.summaries()) {
      if (name && w.name !== name) continue;
      const line = json ? JSON.stringify(w) : statusLine(w);
      if (printed.get(`${w.kind}/${w.name}`) === line) continue;
      printed.set(`${w.kind}/${w.name}`, line);
      process.stdout.write(`${line}\n`);
    }
  };
  const watching = watchNamespace(kube, namespace, model, { onChange: show });
  // A Ctrl+C while the watches start still stops them once they have.
  signal.addEventListener(
    'abort',
    () =>
      void watching.then(
        (w) => w.dispose(),
        () => undefined,
      ),
    { once: true },
  );
  await unlessAborted(watching, signal);
  show();
  await untilAborted(signal);
}

function statusLine(w: WorkloadSummary): string {
  const c = w.canary;
  const canary = c
    ? `  canary ${c.status} step ${Math.min(c.stepIndex + 1, c.stepCount)}/${c.stepCount} weight ${c.weight}% (${c.trafficMode})`
    : '';
  return `${w.kind.padEnd(10)} ${w.name.padEnd(28)} rev ${String(w.revision || '-').padEnd(4)} ${w.ready}/${w.desired} ready, ${w.updated} updated, ${w.available} available${w.progressDeadlineExceeded ? '  PROGRESS DEADLINE EXCEEDED' : ''}${canary}`;
}

/** Adds the `rollout` verb: status, start/continue a built-in canary, and promote/abort/pause/resume/retry/undo for Deployments and Argo Rollouts. */
export function registerRolloutCommands(program: Command, cli: CliContext): void {
  const rollout = program
    .command('rollout')
    .description('Progressive delivery: canaries of Deployments (built in) and Argo Rollouts');
  const ns = (c: Command) =>
    c.option('-n, --namespace <ns>', "namespace (default: the context's)").option('--json', 'print JSON');

  ns(rollout.command('status [name]').description('revision, replicas and canary state of the workloads'))
    .option(
      '-w, --watch',
      'print each workload again whenever it changes, until Ctrl+C (with --json: one object a line)',
    )
    .action(async (name: string | undefined, o: TargetOptions & { watch?: boolean }, cmd: Command) => {
      const kube = kubeFor(cmd);
      if (o.watch) return watchStatus(kube, namespaceOf(kube, o), name, !!o.json, cli.interruptSignal());
      const all = (await listWorkloads(kube, namespaceOf(kube, o))).filter((w) => !name || w.name === name);
      if (name && !all.length) throw new SandpiperError('not-found', `No Deployment or Rollout "${name}".`);
      if (o.json) printJson(name ? all[0] : all);
      else for (const w of all) process.stdout.write(`${statusLine(w)}\n`);
    });

  ns(
    rollout
      .command('start <deployment>')
      .description('start a built-in canary of a Deployment and drive it to promotion or rollback'),
  )
    .option('--image <ref>', 'the image the canary runs (default: built from the workspace, image.build)')
    .option('--container <name>', 'container to change (default: sandpiper.yaml, else the first)')
    .option('--service <name>', 'service of sandpiper.yaml whose canary settings apply (default: the Deployment name)')
    .addOption(parsedOption('--steps <list>', 'traffic percentages, e.g. 10,50,100', percentages))
    .addOption(parsedOption('--interval <duration>', 'time per step before its analysis, e.g. 30s', durationMs))
    .addOption(parsedOption('--failure-limit <n>', 'failed analyses tolerated before rollback', wholeNumber(0)))
    .option('--prometheus <url>', 'Prometheus base URL (default: $PROMETHEUS_URL)')
    .addOption(parsedOption('--window <duration>', 'PromQL rate window', durationText, '10s'))
    .option('--detach', 'start it and return (the controller drives it; without one, `rollout continue` drives it)')
    .addOption(
      parsedOption(
        '--driver <who>',
        'who drives it: controller (in the cluster), client (this CLI) or auto (the controller when one runs)',
        driverChoice,
        'auto',
      ),
    )
    .action(async (deployment: string, o: StartOptions, cmd: Command) => {
      // Taken before the canary is written: Ctrl+C lets the start finish (never half a canary), then stops.
      const signal = cli.interruptSignal();
      const kube = kubeFor(cmd);
      const namespace = namespaceOf(kube, o);
      const { canary, container } = await canaryConfig(cmd, deployment, o);
      // Decided before anything is built or written: `--driver controller` without one fails here.
      const pick = await chooseDriver(kube, o.driver ?? 'auto');
      if (pick.driver === 'client') {
        process.stderr.write(
          o.detach
            ? 'No canary controller runs in the cluster: once started, the canary waits at its first step until ' +
                `\`sandpiper rollout continue ${deployment}\` drives it. ` +
                '`sandpiper controller install` lets rollouts run on their own.\n'
            : `${CLIENT_DRIVER_NOTICE}\n`,
        );
        if (!o.detach) prometheusUrl(o.prometheus); // fail before touching the cluster
      }
      const image = o.image ?? (await workspaceImage(cmd, o.service ?? deployment, signal));
      // A Ctrl+C during the build stops here, before the canary is written.
      if (signal.aborted) throw cancelled();
      const state = await startCanary(kube, {
        namespace,
        deployment,
        image,
        container,
        canary,
        window: o.window,
        driver: pick.driver,
      });
      const traffic =
        state.trafficMode === 'httproute' ? `traffic by HTTPRoute ${state.route}` : 'traffic by replica ratio';
      process.stderr.write(`✓ canary of ${deployment} started: ${image}, ${traffic}\n`);
      if (pick.driver === 'client') {
        if (o.detach) return o.json ? printJson(state) : undefined;
        return drive(kube, namespace, deployment, o, canary, signal);
      }
      process.stderr.write(
        `✓ the in-cluster controller (${pick.controller}) drives it; stopping this command does not stop it\n`,
      );
      if (o.detach) {
        process.stderr.write(`${followHint(deployment, o.namespace)}\n`);
        return o.json ? printJson(state) : undefined;
      }
      await follow(kube, namespace, deployment, o, signal, state);
    });

  ns(
    rollout
      .command('continue <deployment>')
      .description(
        'drive a built-in canary from the step its annotations record (resume after a stop); ' +
          'follow it when the in-cluster controller drives it',
      ),
  )
    .option('--service <name>', 'service of sandpiper.yaml whose analysis applies (when the canary records none)')
    .option('--prometheus <url>', 'Prometheus base URL (default: $PROMETHEUS_URL)')
    .addOption(parsedOption('--window <duration>', 'PromQL rate window', durationText, '10s'))
    .action(async (deployment: string, o: DriveOptions, cmd: Command) => {
      const signal = cli.interruptSignal();
      const kube = kubeFor(cmd);
      const namespace = namespaceOf(kube, o);
      const state = await canaryState(kube, namespace, deployment);
      if (await controllerDrives(kube, state)) {
        process.stderr.write(`The in-cluster controller drives the canary of ${deployment}: following it.\n`);
        await follow(kube, namespace, deployment, o, signal, state);
        return;
      }
      await drive(kube, namespace, deployment, o, await settingsFor(cmd, deployment, o, state), signal);
    });

  const simple = (verb: CanaryOverride | 'retry', what: string) =>
    ns(rollout.command(`${verb} <name>`).description(what)).action(
      async (name: string, o: TargetOptions & { full?: boolean }, cmd: Command) => {
        const kube = kubeFor(cmd);
        const namespace = namespaceOf(kube, o);
        if ((await kindOf(kube, namespace, name)) === 'Rollout') {
          if (verb === 'skip')
            throw new SandpiperError(
              'usage',
              'skip applies to built-in canaries.',
              `For an Argo Rollout, \`sandpiper rollout promote ${name}\` advances one step.`,
            );
          const action: ArgoAction = verb === 'promote' && o.full ? 'promote-full' : verb;
          await runArgoAction(kube, namespace, name, action);
          process.stdout.write(`rollout '${name}' ${action}\n`);
          return;
        }
        if (verb === 'retry')
          throw new SandpiperError('usage', 'retry applies to Argo Rollouts; start a new canary for a Deployment.');
        if (verb === 'resume' && !(await liveDriver(kube, namespace, name))) {
          const state = await canaryState(kube, namespace, name);
          // The controller picks a resumed canary up by itself: only record the resume.
          if (!(await controllerDrives(kube, state))) {
            // Nobody drives it (stopped, or its driver lost the lease): take it over and drive it here.
            process.stderr.write(
              state?.driver === 'controller'
                ? 'The in-cluster controller that drove this canary is not running: this CLI drives it now, ' +
                    'and stopping it pauses it.\n'
                : `${CLIENT_DRIVER_NOTICE}\n`,
            );
            const settings = await settingsFor(cmd, name, o, state);
            return drive(kube, namespace, name, o, settings, cli.interruptSignal(), true);
          }
        }
        const state = await overrideCanary(kube, namespace, name, verb, cli.interruptSignal(), `cli@${os.hostname()}`);
        if (o.json) printJson(state);
        else process.stdout.write(`canary of ${name}: ${state.status}\n`);
      },
    );
  simple('promote', 'promote now: a built-in canary fully; an Argo Rollout one step (or --full)').option(
    '--full',
    'Argo: skip the remaining steps, analysis and pauses',
  );
  simple('abort', 'abort: all traffic back to stable, canary removed (Argo: status.abort)');
  simple('pause', 'pause stepping');
  simple(
    'resume',
    'resume stepping; with no live driver (and no in-cluster controller), take the canary over and drive it',
  );
  simple('skip', 'advance a built-in canary one step without analysis (at the last step: promote)');
  simple('retry', 'retry an aborted Argo Rollout');

  ns(rollout.command('undo <name>').description('roll back to the previous (or a given) revision'))
    .addOption(parsedOption('--to-revision <n>', 'revision to go back to', wholeNumber(1)))
    .action(async (name: string, o: TargetOptions & { toRevision?: number }, cmd: Command) => {
      const kube = kubeFor(cmd);
      const namespace = namespaceOf(kube, o);
      if ((await kindOf(kube, namespace, name)) === 'Rollout') await runArgoAction(kube, namespace, name, 'undo');
      else await undoDeployment(kube, namespace, name, o.toRevision ?? 0);
      process.stdout.write(`${name}: rolled back\n`);
    });
}

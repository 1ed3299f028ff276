/** The parts of testbed.json the image build reads (the whole file may be passed). */
export interface ControllerTestbed {
  registry: string;
  dockerSocket: string;
}

/**
 * The CLI image (resources/janitor.Dockerfile) built on the testbed's dockerd and pushed to its registry, as
 * `<registry>/sandpiper/cli@sha256:…`; tagged by its files' hash, so an unchanged image is not rebuilt. dist/cli.js
 * is rebuilt first when a source is newer. Default testbed: .sandpiper/testbed/testbed.json.
 */
export function controllerImage(options?: { testbed?: ControllerTestbed; log?: (m: string) => void }): Promise<string>;

/** `node scripts/build.mjs` when dist/cli.js is older than a build input. */
export function ensureCliBundle(options?: { log?: (m: string) => void }): Promise<void>;

export interface TestbedController {
  image: string;
  /** The pod holding the leader Lease. */
  leader: string;
  /** From `controller install` to Ready with a live leader. */
  readyMs: number;
  /** Image and install together. */
  totalMs: number;
}

/** `sandpiper controller install` with the testbed's pod access; waits until it is Ready and leads. */
export function installOnTestbed(options?: {
  leaseSeconds?: number;
  timeoutMs?: number;
  log?: (m: string) => void;
}): Promise<TestbedController>;

/** What deployTodo() deployed: the gateway's base URL and the credentials the example's auth service accepts. */
export interface TodoStack {
  /** Where to connect: the testbed's gateway (http://127.0.0.1:<port>); send `hostname` as the Host header. */
  gatewayUrl: string | undefined;
  /** What a browser or curl opens: http://<hostname>:<port> (*.localhost is loopback for both, no DNS). */
  url: string | undefined;
  user: string;
  password: string;
  namespace: string;
  /** The Host the namespace's route answers (TODO_HOST unless deployed with another). */
  hostname: string;
}

export interface DeployTodoOptions {
  namespace?: string;
  /** The environment of every command (KUBECONFIG, DOCKER_HOST, SANDPIPER_REGISTRY, SANDPIPER_GATEWAY_URL). */
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
  /** The Host the route answers (default TODO_HOST, todo.localhost); a test namespace takes its own. */
  hostname?: string;
  context?: string;
  signal?: AbortSignal;
}

export const EXAMPLE_DIR: string;
export const TODO_FOLDERS: string[];
export const TODO_USER: string;
export const TODO_HOST: string;

/** Deploys the Todo example into a namespace (see scripts/todo.mjs). */
export function deployTodo(options?: DeployTodoOptions): Promise<TodoStack>;

/** GET through the gateway: the status code, or the connection error's code. */
export function gatewayStatus(
  gatewayUrl: string,
  urlPath: string,
  options?: { hostname?: string; auth?: { user: string; password: string } },
): Promise<number | string>;

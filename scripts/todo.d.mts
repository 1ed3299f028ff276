/** What deployTodo() deployed: the gateway's base URL and the credentials the example's auth service accepts. */
export interface TodoStack {
  gatewayUrl: string | undefined;
  user: string;
  password: string;
  namespace: string;
  /** The Host the namespace's route answers (when deployed with one). */
  hostname: string | undefined;
}

export interface DeployTodoOptions {
  namespace?: string;
  /** The environment of every command (KUBECONFIG, DOCKER_HOST, SANDPIPER_REGISTRY, SANDPIPER_GATEWAY_URL). */
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
  /** Route only this Host to the namespace (beside staging's catch-all route). */
  hostname?: string;
  context?: string;
  signal?: AbortSignal;
}

export const EXAMPLE_DIR: string;
export const TODO_FOLDERS: string[];
export const TODO_USER: string;

/** Deploys the Todo example into a namespace (see scripts/todo.mjs). */
export function deployTodo(options?: DeployTodoOptions): Promise<TodoStack>;

/** GET through the gateway: the status code, or the connection error's code. */
export function gatewayStatus(
  gatewayUrl: string,
  urlPath: string,
  options?: { hostname?: string; auth?: { user: string; password: string } },
): Promise<number | string>;

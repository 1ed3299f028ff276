// Types of netcheck.mjs for the TypeScript tests that import it.
export interface RuleCheck {
  name: string;
  ok: boolean;
  detail: string;
}
export interface Listener {
  addr: string;
  proc: string;
  pid: number;
}
export function dnsQuery(
  name: string,
  server?: string,
  timeoutMs?: number,
): Promise<{ rcode: string; answers: number }>;
export function listeners(pids: number[]): Listener[];
export function localAddress(addr: string): boolean;
export function checkTestbedNetworkRule(
  info: unknown,
  ctx: { ns: string; inPod(cmd: string): { stdout: string }; knownService?: string },
): Promise<RuleCheck[]>;

import { SandpiperError } from '../errors';

/** A Prometheus HTTP API client: instant queries only, each with a timeout and the caller's AbortSignal. */
export interface MetricsSource {
  /** The scalar result of a PromQL query, or undefined when it has no data (empty vector or NaN). */
  scalar(query: string, signal?: AbortSignal): Promise<number | undefined>;
}

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: unknown };
}

export class PrometheusClient implements MetricsSource {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  async scalar(query: string, signal?: AbortSignal): Promise<number | undefined> {
    const url = new URL('/api/v1/query', this.baseUrl);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query }).toString(),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw new SandpiperError('cancelled', 'Cancelled.');
      throw this.unreachable(timeout.aborted ? `no answer within ${this.timeoutMs} ms` : (err as Error).message);
    }
    const body = (await res.json().catch((err) => {
      if (signal?.aborted) throw new SandpiperError('cancelled', 'Cancelled.');
      // The answer stopped half-way (timeout, connection reset): as unreachable as no answer at all.
      if (timeout.aborted || (err as Error).name === 'AbortError' || (err as Error).name === 'TypeError')
        throw this.unreachable(`the answer broke off: ${(err as Error).message}`);
      return { status: 'error', error: `HTTP ${res.status}` };
    })) as QueryResponse;
    // 5xx: Prometheus (or a proxy before it) is down, overloaded or timed out — not a verdict on the query.
    if (res.status >= 500) throw this.unreachable(`HTTP ${res.status}${body.error ? ` (${body.error})` : ''}`);
    if (body.status !== 'success' || !body.data) {
      throw new SandpiperError(
        'metrics-query',
        `Prometheus rejected the query ${query}: ${body.error ?? `HTTP ${res.status}`}`,
        'Fix the PromQL in sandpiper.yaml canary.analysis.',
      );
    }
    return scalarOf(body.data);
  }

  private unreachable(why: string): SandpiperError {
    return new SandpiperError(
      'metrics-unreachable',
      `Prometheus at ${this.baseUrl} does not answer: ${why}`,
      'Check the sandpiper.prometheusUrl setting (or PROMETHEUS_URL), and that Prometheus runs.',
    );
  }
}

/** The one number of a scalar or single-sample vector; several series are an error in the query, not data. */
export function scalarOf(data: { resultType: string; result: unknown }): number | undefined {
  let text: unknown;
  if (data.resultType === 'scalar') text = (data.result as [number, string])[1];
  else if (data.resultType === 'vector') {
    const vector = data.result as Array<{ value: [number, string] }>;
    if (vector.length === 0) return undefined;
    if (vector.length > 1)
      throw new SandpiperError(
        'metrics-query',
        `The query returned ${vector.length} series where one number was expected.`,
        'Aggregate it with sum(...) or by().',
      );
    text = vector[0].value[1];
  } else return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** The Prometheus to ask: the setting, else $PROMETHEUS_URL. */
export function prometheusUrl(setting?: string, env: NodeJS.ProcessEnv = process.env): string {
  const url = setting || env.PROMETHEUS_URL;
  if (!url)
    throw new SandpiperError(
      'metrics-unconfigured',
      'No Prometheus is configured for canary analysis.',
      'Set sandpiper.prometheusUrl (or PROMETHEUS_URL for the CLI).',
    );
  return url;
}

// PromQL comparing a canary with its stable side, for each metrics source: the app's own request series, the
// Gateway's per-backend series (Traefik's), or only the custom queries of sandpiper.yaml.
import { SandpiperError } from '../errors';
import type { AnalysisSource } from '../config/types';
import type { CanarySpec } from './state';

export type Track = 'canary' | 'stable';

export interface QueryTarget {
  namespace: string;
  /** app: the `service` label of the request metrics; gateway: the stable Service (the canary's is `<service>-canary`). */
  service: string;
  /** The rate window; a few scrape intervals. */
  window: string;
  /** Default app. */
  source?: AnalysisSource;
}

/** What a canary's driver queries, from the spec startCanary recorded on it. */
export function analysisTarget(namespace: string, spec: CanarySpec): QueryTarget {
  return { namespace, service: spec.service, window: spec.window, source: spec.analysis.source ?? 'app' };
}

/** The request counter and latency histogram of a source, and how to select one track's series of them. */
interface RequestSeries {
  requests: string;
  durationBuckets: string;
  /** The label matchers inside `{}`, without braces. */
  matchers(t: QueryTarget, track: Track): string;
}

/** The app's own series; the scrape config labels them with namespace, service (= label app) and track. */
const APP: RequestSeries = {
  requests: 'http_requests_total',
  durationBuckets: 'http_request_duration_seconds_bucket',
  matchers: (t, track) => `namespace="${t.namespace}",service="${t.service}",track="${track}"`,
};

/** Traefik's per-backend series: each backend Service of an HTTPRoute is a Traefik service with its own counters. */
const GATEWAY: RequestSeries = {
  requests: 'traefik_service_requests_total',
  durationBuckets: 'traefik_service_request_duration_seconds_bucket',
  matchers: (t, track) =>
    `service=~"${gatewayServicePattern(t.namespace, track === 'canary' ? `${t.service}-canary` : t.service)}"`,
};

/** Traefik's provider.Normalize: every run of characters other than letters and digits becomes one '-'. */
function traefikName(name: string): string {
  return name
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .join('-');
}

/**
 * The Traefik service names of Service `service` in `namespace` as an HTTPRoute backend. Traefik 3.7.6+ names one
 * `<router name>-svc-<namespace>-<service>-<backend index>@kubernetesgateway` (router name = `httproute-<route
 * key>-<hash of the rule>`); earlier 3.x `<namespace>-<service>-http-<port>` or `<namespace>-<service>-<port>`.
 * Names are never truncated. The name must end right after the number, so the stable `web` never takes in
 * `web-canary-1`, and must start at or follow `-svc-`, so `web` never takes in `shop-web-0`. PromQL anchors the
 * pattern at both ends; Kubernetes names need no escaping once normalised.
 */
export function gatewayServicePattern(namespace: string, service: string): string {
  const id = `${traefikName(namespace)}-${traefikName(service)}`;
  return `(.*-svc-${id}-[0-9]+|${id}(-http)?-[0-9]+)@kubernetesgateway`;
}

function seriesOf(t: QueryTarget): RequestSeries | undefined {
  switch (t.source ?? 'app') {
    case 'app':
      return APP;
    case 'gateway':
      return GATEWAY;
    case 'promql':
      return undefined;
  }
}

function requestSeries(t: QueryTarget): RequestSeries {
  const series = seriesOf(t);
  if (!series)
    throw new SandpiperError('invalid', 'Analysis source promql has no request series, only the custom queries.');
  return series;
}

function selector(t: QueryTarget, track: Track, extra = ''): string {
  return `{${requestSeries(t).matchers(t, track)}${extra}}`;
}

/** Whether the source has request series at all (promql has only the custom queries). */
export function hasRequestSeries(t: QueryTarget): boolean {
  return seriesOf(t) !== undefined;
}

/**
 * Whether the track reports right now: an instant vector, which drops a series at its staleness marker,
 * while a rate over a range keeps using the old samples for a whole window after the series vanished.
 * Undefined for promql, whose queries are all there is.
 */
export function presenceQuery(t: QueryTarget, track: Track): string | undefined {
  const series = seriesOf(t);
  return series && `count(${series.requests}${selector(t, track)})`;
}

export function requestRateQuery(t: QueryTarget, track: Track): string {
  return `sum(rate(${requestSeries(t).requests}${selector(t, track)}[${t.window}]))`;
}

/** Errors over all requests; `or vector(0)` keeps "no errors" a 0, while "no requests" stays no data. */
export function errorRateQuery(t: QueryTarget, track: Track): string {
  const errors = `${requestSeries(t).requests}${selector(t, track, ',code=~"5.."')}`;
  return `(sum(rate(${errors}[${t.window}])) or vector(0)) / ${requestRateQuery(t, track)}`;
}

export function successRateQuery(t: QueryTarget, track: Track): string {
  const good = `${requestSeries(t).requests}${selector(t, track, ',code!~"5.."')}`;
  return `(sum(rate(${good}[${t.window}])) or vector(0)) / ${requestRateQuery(t, track)}`;
}

export function p99LatencyMsQuery(t: QueryTarget, track: Track): string {
  const buckets = `${requestSeries(t).durationBuckets}${selector(t, track)}`;
  return `histogram_quantile(0.99, sum by (le) (rate(${buckets}[${t.window}]))) * 1000`;
}

/** A custom query from sandpiper.yaml with {{namespace}}, {{service}} and {{track}} filled in. */
export function customQuery(template: string, t: QueryTarget, track: Track): string {
  return template
    .replaceAll('{{namespace}}', t.namespace)
    .replaceAll('{{service}}', t.service)
    .replaceAll('{{track}}', track);
}

/** PromQL comparing the canary's and the stable pods' requests; series carry `namespace`, `service` and `track` labels. */
export type Track = 'canary' | 'stable';

export interface QueryTarget {
  namespace: string;
  service: string;
  /** The rate window; a few scrape intervals. */
  window: string;
}

function selector(t: QueryTarget, track: Track, extra = ''): string {
  return `{namespace="${t.namespace}",service="${t.service}",track="${track}"${extra}}`;
}

/**
 * Whether the track reports right now: an instant vector, which drops a series at its staleness marker,
 * while a rate over a range keeps using the old samples for a whole window after the series vanished.
 */
export function presenceQuery(t: QueryTarget, track: Track): string {
  return `count(http_requests_total${selector(t, track)})`;
}

export function requestRateQuery(t: QueryTarget, track: Track): string {
  return `sum(rate(http_requests_total${selector(t, track)}[${t.window}]))`;
}

/** Errors over all requests; `or vector(0)` keeps "no errors" a 0, while "no requests" stays no data. */
export function errorRateQuery(t: QueryTarget, track: Track): string {
  return `(sum(rate(http_requests_total${selector(t, track, ',code=~"5.."')}[${t.window}])) or vector(0)) / ${requestRateQuery(t, track)}`;
}

export function successRateQuery(t: QueryTarget, track: Track): string {
  return `(sum(rate(http_requests_total${selector(t, track, ',code!~"5.."')}[${t.window}])) or vector(0)) / ${requestRateQuery(t, track)}`;
}

export function p99LatencyMsQuery(t: QueryTarget, track: Track): string {
  return `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket${selector(t, track)}[${t.window}]))) * 1000`;
}

/** A custom query from sandpiper.yaml with {{namespace}}, {{service}} and {{track}} filled in. */
export function customQuery(template: string, t: QueryTarget, track: Track): string {
  return template.replaceAll('{{namespace}}', t.namespace).replaceAll('{{service}}', t.service).replaceAll('{{track}}', track);
}

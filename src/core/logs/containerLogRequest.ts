import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';

export interface ContainerLogQuery {
  follow: boolean;
  tailLines?: number;
  /** RFC 3339; the server sends lines at or after it. */
  sinceTime?: string;
}

/**
 * Opens `GET …/pods/<pod>/log` and hands back the body. client-node's `Log` pipes the body into a stream
 * without telling when the connection drops, and a silent drop is exactly what the follower must see.
 */
export async function openContainerLog(kc: KubeConfig, namespace: string, pod: string, container: string, query: ContainerLogQuery, signal: AbortSignal): Promise<Readable> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('No current cluster in the kubeconfig.');
  const url = new URL(`${server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`);
  url.searchParams.set('container', container);
  url.searchParams.set('timestamps', 'true');
  if (query.follow) url.searchParams.set('follow', 'true');
  if (query.tailLines !== undefined) url.searchParams.set('tailLines', String(query.tailLines));
  if (query.sinceTime) url.searchParams.set('sinceTime', query.sinceTime);
  const options: https.RequestOptions = { method: 'GET', signal };
  await kc.applyToHTTPSOptions(options);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<Readable>((resolve, reject) => {
    const req = transport.request(url, options, (res) => {
      if (res.statusCode === 200) return resolve(res);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        let message = body;
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? body;
        } catch {
          // Not a Status object: keep the text.
        }
        reject(new ApiException(res.statusCode ?? 500, message, body, {}));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

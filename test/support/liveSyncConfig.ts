/**
 * The sandpiper.yaml the editor-level live-sync tests (extension host, code-server) give the todo example:
 * service `web` syncs src/ to /app and reloads by signalling the pod's test server.
 */
export function liveSyncYaml(o: { heading?: string; debounce?: string } = {}): string {
  return `${o.heading ? `# ${o.heading}\n` : ''}baseline: staging
services:
  web:
    manifests: k8s/
    image: { build: ., dockerfile: Dockerfile }
    container: web
    sync:
      paths: [src/]
      target: /app
${o.debounce ? `      debounce: ${o.debounce}\n` : ''}      # exec runs on the test machine (KWOK): the pod's "main process" is the test server, by its pid file.
      reload: { command: [sh, -c, 'kill -HUP "$(cat server.pid)"'] }
`;
}

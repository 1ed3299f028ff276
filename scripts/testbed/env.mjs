// The one list of variables that point a process (kubectl, docker, the sandpiper CLI, the tests, npm start)
// at the running test bed. npm test, npm start, npm run bench and the tests' testbedEnv() all take it from here.
import * as path from 'node:path';

/** The variables for the test bed described by testbed.json (`tb`); PATH gets the bed's bin dir in front. */
export function testbedVariables(tb, pathVar = process.env.PATH ?? '') {
  const vars = {
    PATH: tb.binDir ? `${tb.binDir}${path.delimiter}${pathVar}` : undefined,
    KUBECONFIG: tb.kubeconfig,
    DOCKER_HOST: tb.dockerHost,
    // The classic builder, as env.sh sets it: the bed's docker CLI has no buildx plugin.
    DOCKER_BUILDKIT: '0',
    SANDPIPER_REGISTRY: tb.registry,
    PROMETHEUS_URL: tb.prometheusUrl,
    // Only with the real node (the default unless `up --no-real-node`), as env.sh exports them.
    SANDPIPER_REAL_NODE: tb.realNode ? '1' : undefined,
    SANDPIPER_GATEWAY_URL: tb.realNode?.gateway?.url,
    // What pods dial for the API server (TLS server name apart) and Prometheus: forwarders on the bridge address.
    SANDPIPER_POD_API_SERVER: tb.realNode?.podAccess?.apiServer,
    SANDPIPER_POD_API_SERVER_NAME: tb.realNode?.podAccess?.apiServerName,
    SANDPIPER_POD_PROMETHEUS_URL: tb.realNode?.podAccess?.prometheusUrl,
  };
  return Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined && v !== ''));
}

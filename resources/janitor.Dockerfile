# The CLI image: the bundled CLI on Node, for what Sandpiper runs in the cluster — the janitor CronJob
# (`janitor`, resources/janitor-cronjob.yaml) and the canary controller (`controller run`,
# resources/canary-controller.yaml). Build from the repository root after `npm run build`:
#   docker build -f resources/janitor.Dockerfile -t <registry>/sandpiper/cli:0.1.0 .
# In a pod, client-node falls back to the ServiceAccount token when there is no kubeconfig.
FROM node:20-slim
WORKDIR /opt/sandpiper
COPY dist/cli.js dist/cli.js
COPY bin/sandpiper.js bin/sandpiper.js
USER 65532
ENTRYPOINT ["node", "/opt/sandpiper/bin/sandpiper.js"]

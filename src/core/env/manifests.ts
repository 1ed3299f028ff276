import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SandpiperError } from '../errors';
import type { ServiceConfig } from '../config/types';
import type { KubeObject } from './clone';

const YAML_FILE = /\.ya?ml$/i;

async function filesUnder(entry: string): Promise<string[]> {
  const stat = await fs.stat(entry).catch(() => undefined);
  if (!stat) throw new SandpiperError('manifests-missing', `The manifests path ${entry} does not exist.`, 'Fix `manifests` in sandpiper.yaml.');
  if (stat.isFile()) return [entry];
  const names = (await fs.readdir(entry)).sort();
  if (names.includes('kustomization.yaml') || names.includes('kustomization.yml')) {
    throw new SandpiperError('manifests-kustomize', `${entry} is a kustomization; only plain YAML manifests are supported so far.`, 'Point `manifests` at plain YAML files or a folder of them.');
  }
  const nested = await Promise.all(names.map(async (n) => {
    const full = path.join(entry, n);
    const s = await fs.stat(full);
    return s.isDirectory() ? filesUnder(full) : YAML_FILE.test(n) ? [full] : [];
  }));
  return nested.flat();
}

/** Reads every object of a service's manifests (files or folders of plain YAML, multi-document). */
export async function readServiceManifests(root: string, service: ServiceConfig): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const entry of service.manifests) {
    for (const file of await filesUnder(path.resolve(root, entry))) {
      const text = await fs.readFile(file, 'utf8');
      for (const doc of parseAllDocuments(text)) {
        if ('errors' in doc && doc.errors.length) {
          throw new SandpiperError('manifests-invalid', `${path.relative(root, file)}: ${doc.errors[0].message.split('\n')[0]}`, 'Fix the YAML of that manifest.');
        }
        const obj = doc.toJS() as KubeObject | null;
        if (!obj) continue;
        if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
          throw new SandpiperError('manifests-invalid', `${path.relative(root, file)}: an object without apiVersion, kind or metadata.name.`, 'Every manifest needs apiVersion, kind and metadata.name.');
        }
        objects.push(obj);
      }
    }
  }
  if (!objects.length) throw new SandpiperError('manifests-empty', `The manifests of "${service.name}" hold no objects.`, 'Add the Deployment and Service of the service.');
  return objects;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod', 'Job']);

export function isWorkload(obj: KubeObject): boolean {
  return WORKLOAD_KINDS.has(obj.kind ?? '');
}

/**
 * Puts the objects into `namespace` with our labels and, when an image is given, sets it on the
 * service's container (the one named in config, else the first).
 */
export function prepareServiceObjects(objects: KubeObject[], namespace: string, labels: Record<string, string>, service: ServiceConfig, image?: string): KubeObject[] {
  return objects.map((source) => {
    const obj = structuredClone(source);
    obj.metadata = { ...obj.metadata, namespace, labels: { ...(obj.metadata?.labels ?? {}), ...labels } };
    if (image && isWorkload(obj)) {
      const podSpec = obj.kind === 'Pod' ? obj.spec : (obj.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
      const containers = (podSpec?.containers ?? []) as Array<{ name: string; image?: string }>;
      const target = containers.find((c) => c.name === service.container) ?? containers[0];
      if (target) target.image = image;
    }
    return obj;
  });
}

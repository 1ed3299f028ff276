import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** A path sandpiper.yaml names (manifests, sync paths) and where it is written, for a located problem. */
export interface NamedPath {
  segments: Array<string | number>;
  value: string;
}

interface RawPaths {
  manifests?: string | string[];
  sync?: { paths?: string[] };
}

/**
 * Every manifest and sync path of every service. These are read from disk and applied to the cluster or sent
 * into a container, so they must stay inside the folder of sandpiper.yaml: a committed `/etc` or `../..` would
 * otherwise ship files of the machine that has nothing to do with the service.
 */
export function namedPaths(services: Record<string, RawPaths>): NamedPath[] {
  const out: NamedPath[] = [];
  for (const [name, svc] of Object.entries(services)) {
    const manifests = svc.manifests;
    if (typeof manifests === 'string') out.push({ segments: ['services', name, 'manifests'], value: manifests });
    else manifests?.forEach((value, i) => out.push({ segments: ['services', name, 'manifests', i], value }));
    svc.sync?.paths?.forEach((value, i) => out.push({ segments: ['services', name, 'sync', 'paths', i], value }));
  }
  return out;
}

/** Whether `target` is `root` or below it (both absolute and already resolved). */
export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** The paths that leave `root` as written (absolute elsewhere, or climbing out with `..`). */
export function pathsOutside(root: string, paths: NamedPath[]): NamedPath[] {
  const base = path.resolve(root);
  return paths.filter((p) => !isInside(base, path.resolve(base, p.value)));
}

/**
 * The paths that leave `root` once symbolic links are resolved (k8s -> /etc); for a path that does not exist
 * yet, the links of its nearest existing parent.
 */
export async function pathsEscapingThroughLinks(
  root: string,
  paths: NamedPath[],
): Promise<Array<NamedPath & { real: string }>> {
  const realRoot = await fs.realpath(root);
  const out: Array<NamedPath & { real: string }> = [];
  for (const p of paths) {
    const real = await realpathOfNearest(path.resolve(root, p.value));
    if (!isInside(realRoot, real)) out.push({ ...p, real });
  }
  return out;
}

/** The real path of `target`, or of its nearest existing ancestor (plus the rest) when it does not exist yet. */
async function realpathOfNearest(target: string): Promise<string> {
  let rest = '';
  for (let dir = target; ; dir = path.dirname(dir)) {
    try {
      return path.join(await fs.realpath(dir), rest);
    } catch {
      if (path.dirname(dir) === dir) return target;
      rest = path.join(path.basename(dir), rest);
    }
  }
}

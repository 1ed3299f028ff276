import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import type { ServiceConfig } from '../config/types';

/** Files whose change the sync cannot carry: the image must be rebuilt (lockfiles and dependency manifests). */
const DEPENDENCY_FILES = [
  'package.json', 'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml',
  'requirements.txt', 'poetry.lock', 'Pipfile.lock', 'pyproject.toml', 'go.mod', 'go.sum',
  'Gemfile.lock', 'Cargo.lock', 'pom.xml', 'build.gradle', 'build.gradle.kts',
];

/** Decides whether a changed file outside the sync paths means "rebuild the image". */
export class RebuildTrigger {
  private readonly globs: Ignore;
  private readonly dockerfile?: string;
  private readonly context?: string;

  constructor(
    private readonly configRoot: string,
    service: ServiceConfig,
  ) {
    this.globs = ignore().add(service.sync?.rebuildOn ?? []);
    const build = service.image?.build;
    if (build) {
      this.context = path.resolve(configRoot, build.context);
      this.dockerfile = path.resolve(this.context, build.dockerfile);
    }
  }

  /** Whether the service builds its image here at all (a fixed image ref cannot be rebuilt). */
  get canRebuild(): boolean {
    return this.context !== undefined;
  }

  matches(localFile: string): boolean {
    const abs = path.resolve(localFile);
    const rel = path.relative(this.configRoot, abs);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel) && this.globs.ignores(rel.split(path.sep).join('/'))) return true;
    if (!this.context) return false;
    if (abs === this.dockerfile || abs === path.join(this.context, '.dockerignore')) return true;
    // Dependency manifests at the build context's root (where a Dockerfile COPYs them from).
    return path.dirname(abs) === this.context && DEPENDENCY_FILES.includes(path.basename(abs));
  }
}

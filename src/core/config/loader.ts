import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ErrorObject } from 'ajv';
// Compiled from resources/sandpiper.schema.json by the build (scripts/schemaValidator.mjs): no ajv at run time.
import { validateSchema } from '#schema-validator';
import { CORE_SCHEMA, load as quickLoad } from 'js-yaml';
import { LineCounter, parseDocument, isMap, isNode, isScalar, isSeq, visit, type Document } from 'yaml';
import schema from '../../../resources/sandpiper.schema.json';
import { SandpiperError } from '../errors';
import { CONFIG_FILE, parseDuration, type SandpiperConfig, type ServiceConfig } from './types';
import { canaryProblems, toConfig, type RawConfig } from './resolve';
import { namedPaths, pathsEscapingThroughLinks, pathsOutside, type NamedPath } from './paths';

export { CONFIG_FILE };
const DURATION_PATTERN = schema.definitions.duration.pattern;
const THRESHOLD_PATTERN = schema.definitions.threshold.pattern;
/** Far above any real sandpiper.yaml (20,000 services fit); past it the editor would stall on every keystroke. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** yaml's own guard against alias bombs (a billion laughs), kept explicit: every alias expansion counts. */
const MAX_ALIAS_COUNT = 100;

/** One problem in sandpiper.yaml, located for an editor (0-based) and for people (1-based, in `toString`). */
export interface ConfigProblem {
  path: string;
  message: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export type ConfigResult = { ok: true; config: SandpiperConfig } | { ok: false; problems: ConfigProblem[] };

export function formatProblem(file: string, p: ConfigProblem): string {
  return `${file}:${p.line + 1}:${p.column + 1}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** Parses and validates the text of a sandpiper.yaml; every problem is reported, none stops at the first. */
export function parseConfig(text: string, root: string): ConfigResult {
  return analyze(text, root).result;
}

interface Analysis {
  result: ConfigResult;
  /** Locates a problem at a path of the document (for checks made after parsing, such as on disk). */
  problemAt(segments: Array<string | number>, message: string): ConfigProblem;
  /** The manifests and sync paths, as written (when the document is valid). */
  paths: NamedPath[];
}

function tooLarge(bytes: number): ConfigProblem {
  const message = `${CONFIG_FILE} is ${(bytes / 1024 / 1024).toFixed(1)} MB; more than ${MAX_CONFIG_BYTES / 1024 / 1024} MB is not read`;
  return { path: '', message, line: 0, column: 0, endLine: 0, endColumn: 0 };
}

function analyze(text: string, root: string): Analysis {
  if (text.length > MAX_CONFIG_BYTES)
    return {
      result: { ok: false, problems: [tooLarge(text.length)] },
      problemAt: () => tooLarge(text.length),
      paths: [],
    };
  return quickAnalysis(text, root) ?? locatedAnalysis(text, root);
}

/**
 * Most files are valid, and js-yaml reads them about eight times faster than yaml's document model (20,000
 * services: ~0.5 s against ~4 s). Its result is used only when it finds nothing wrong; anything else — a syntax
 * error, a duplicate key, a schema problem, a path outside the folder — is reported by the located analysis.
 * Files with an anchor (`&`, hence aliases or merge keys) always take the located path, where aliases are counted.
 */
function quickAnalysis(text: string, root: string): Analysis | undefined {
  if (text.includes('&')) return undefined;
  let raw: unknown;
  try {
    // YAML 1.2's core schema, as yaml's parseDocument uses: no timestamps or binary, duplicate keys refused.
    raw = quickLoad(text, { schema: CORE_SCHEMA }) ?? {};
  } catch {
    return undefined;
  }
  if (!validateSchema(raw)) return undefined;
  const services = (raw as RawConfig).services;
  const debounces = Object.values(services).map((s) => s.sync?.debounce);
  if (debounces.some((d) => d !== undefined && parseDuration(d) === undefined)) return undefined;
  if (Object.values(services).some((s) => canaryProblems(s.canary).length)) return undefined;
  const paths = namedPaths(services);
  if (pathsOutside(root, paths).length) return undefined;
  let located: Analysis | undefined;
  const problemAt = (segments: Array<string | number>, message: string) =>
    (located ??= locatedAnalysis(text, root)).problemAt(segments, message);
  return { result: { ok: true, config: toConfig(raw as RawConfig, root) }, problemAt, paths };
}

function locatedAnalysis(text: string, root: string): Analysis {
  const lines = new LineCounter();
  const at = (offset: number, end = offset) => {
    const s = lines.linePos(offset);
    const e = lines.linePos(Math.max(end, offset));
    return { line: s.line - 1, column: s.col - 1, endLine: e.line - 1, endColumn: e.col - 1 };
  };
  const fail = (problems: ConfigProblem[]): ConfigResult => ({ ok: false, problems: sortProblems(problems) });
  // yaml's uniqueKeys compares each key with every earlier one (quadratic in a long map): duplicates are found below.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const problemAt = (segments: Array<string | number>, message: string) => locate(doc, segments, message, at);
  const syntax = doc.errors.map((e) => ({ path: '', message: e.message.split('\n')[0], ...at(e.pos[0], e.pos[1]) }));
  syntax.push(...duplicateKeys(doc, at));
  if (syntax.length) return { result: fail(syntax), problemAt, paths: [] };

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    // The only throw of toJS on a parsed document: aliases that expand past the limit.
    const alias = firstAlias(doc);
    const message = `aliases expand too far (${(err as Error).message.replace(/\.$/, '')}); write the values out instead`;
    return { result: fail([{ path: '', message, ...at(alias?.[0] ?? 0, alias?.[1]) }]), problemAt, paths: [] };
  }
  const check = validateSchema;
  const problems: ConfigProblem[] = [];
  let paths: NamedPath[] = [];
  if (!check(raw)) problems.push(...schemaProblems(check.errors ?? [], doc, at));
  if (!problems.length) {
    const services = (raw as RawConfig).services;
    paths = namedPaths(services);
    for (const [name, svc] of Object.entries(services)) {
      const debounce = svc.sync?.debounce;
      if (debounce !== undefined && parseDuration(debounce) === undefined) {
        problems.push(
          locate(
            doc,
            ['services', name, 'sync', 'debounce'],
            `"${debounce}" is not a duration (use e.g. 200ms, 30s, 8h)`,
            at,
          ),
        );
      }
    }
    for (const [name, svc] of Object.entries(services))
      for (const p of canaryProblems(svc.canary))
        problems.push(problemAt(['services', name, ...p.segments], p.message));
    for (const p of pathsOutside(root, paths)) problems.push(problemAt(p.segments, outsideMessage(p.value)));
  }
  if (problems.length) return { result: fail(problems), problemAt, paths };
  return { result: { ok: true, config: toConfig(raw as RawConfig, root) }, problemAt, paths };
}

function outsideMessage(value: string, real?: string): string {
  const where = real ? ` (through a symbolic link, to ${real})` : '';
  return `"${value}" leads outside the folder of ${CONFIG_FILE}${where}; manifests and sync paths must stay inside it`;
}

/** Each key that repeats an earlier key of the same mapping, found with one set per mapping. */
function duplicateKeys(doc: Document, at: At): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  // A plain walk: yaml's visit() builds a path for every node, which costs more than the check.
  const walk = (node: unknown): void => {
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          if (seen.has(pair.key.value))
            out.push({
              path: '',
              message: 'Map keys must be unique',
              ...at(pair.key.range?.[0] ?? 0, pair.key.range?.[1]),
            });
          seen.add(pair.key.value);
        }
        walk(pair.value);
      }
    } else if (isSeq(node)) {
      node.items.forEach(walk);
    }
  };
  walk(doc.contents);
  return out;
}

function firstAlias(doc: Document): [number, number] | undefined {
  let found: [number, number] | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.range) found = [node.range[0], node.range[1]];
      return visit.BREAK;
    },
  });
  return found;
}

export async function loadConfig(dir: string): Promise<SandpiperConfig> {
  const file = path.join(dir, CONFIG_FILE);
  let size: number;
  try {
    size = (await fs.stat(file)).size;
  } catch {
    throw new SandpiperError(
      'config-missing',
      `No ${CONFIG_FILE} in ${dir}.`,
      `Create ${CONFIG_FILE} at the root of the service's folder.`,
    );
  }
  const invalid = (problems: ConfigProblem[]) => {
    const list = problems.map((p) => formatProblem(file, p)).join('\n');
    return new SandpiperError(
      'config-invalid',
      `${CONFIG_FILE} has ${problems.length} problem(s):\n${list}`,
      `Fix ${CONFIG_FILE}; nothing was run.`,
    );
  };
  if (size > MAX_CONFIG_BYTES) throw invalid([tooLarge(size)]);
  const analysis = analyze(await fs.readFile(file, 'utf8'), dir);
  if (!analysis.result.ok) throw invalid(analysis.result.problems);
  // Only here, with the disk at hand: a path written inside the folder may still be a link out of it.
  const escaping = await pathsEscapingThroughLinks(dir, analysis.paths);
  if (escaping.length)
    throw invalid(escaping.map((p) => analysis.problemAt(p.segments, outsideMessage(p.value, p.real))));
  return analysis.result.config;
}

/** Walks up from `start` to the nearest folder holding sandpiper.yaml. */
export async function findConfigRoot(start: string): Promise<string | undefined> {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    try {
      await fs.access(path.join(dir, CONFIG_FILE));
      return dir;
    } catch {
      if (path.dirname(dir) === dir) return undefined;
    }
  }
}

type At = (offset: number, end?: number) => Omit<ConfigProblem, 'path' | 'message'>;

function locate(doc: Document, segments: Array<string | number>, message: string, at: At, key = false): ConfigProblem {
  // Point at the deepest node that exists; for unknown keys, at the key itself.
  for (let n = segments.length; n >= 0; n--) {
    const parent = n > 0 ? doc.getIn(segments.slice(0, n - 1), true) : undefined;
    if (key && n === segments.length && parent && typeof parent === 'object' && 'items' in parent) {
      const pair = (parent as { items: Array<{ key: unknown }> }).items.find(
        (i) => isNode(i.key) && String((i.key as { value?: unknown }).value) === String(segments[n - 1]),
      );
      if (pair && isNode(pair.key) && pair.key.range)
        return { path: segments.join('.'), message, ...at(pair.key.range[0], pair.key.range[1]) };
    }
    const node = n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true);
    if (isNode(node) && node.range)
      return { path: segments.join('.'), message, ...at(node.range[0], Math.min(node.range[1], node.range[0] + 200)) };
  }
  return { path: segments.join('.'), message, ...at(0) };
}

function schemaProblems(errors: ErrorObject[], doc: Document, at: At): ConfigProblem[] {
  // A failed oneOf also reports each branch's failure; keep the branch errors only when they say something specific.
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const e of errors) {
    const segments = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let message: string;
    let key = false;
    let target = segments;
    switch (e.keyword) {
      case 'additionalProperties': {
        const extra = String(e.params.additionalProperty);
        target = [...segments, extra];
        key = true;
        message = `unknown key "${extra}"${suggest(e)}`;
        break;
      }
      case 'required':
        key = segments.length > 0;
        message =
          segments.length >= 2 && segments[0] === 'services' && e.params.missingProperty === 'manifests'
            ? `service "${segments[1]}" has no manifests (add manifests: <folder or files>)`
            : `missing required key "${e.params.missingProperty}"`;
        break;
      case 'enum':
        message = isDependency(segments)
          ? `dependency mode must be shared or copy, not ${JSON.stringify(doc.getIn(segments))}`
          : `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'pattern':
        message =
          e.params.pattern === DURATION_PATTERN
            ? `"${doc.getIn(segments)}" is not a duration (use e.g. 200ms, 30s, 8h)`
            : e.params.pattern === THRESHOLD_PATTERN
              ? `"${doc.getIn(segments)}" is not a threshold (a comparison and a number, e.g. ">= 0.99" or "<= 300")`
              : `"${doc.getIn(segments)}" does not match ${e.params.pattern}`;
        break;
      case 'type':
        message = `must be ${e.params.type}, not ${describe(doc.getIn(segments))}`;
        break;
      case 'oneOf':
        if (
          errors.some(
            (o) =>
              o !== e && o.instancePath.startsWith(e.instancePath) && o.keyword !== 'oneOf' && o.keyword !== 'type',
          )
        )
          continue;
        message = 'does not match any of the allowed forms';
        break;
      default:
        message = e.message ?? 'is invalid';
    }
    const id = `${target.join('.')}|${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(locate(doc, target, message, at, key));
  }
  // A branch of oneOf that only said "must be string" while another branch has a specific complaint is noise.
  return out.filter(
    (p) =>
      !(
        p.message.startsWith('must be ') &&
        out.some((q) => q !== p && q.path.startsWith(p.path) && !q.message.startsWith('must be '))
      ),
  );
}

function suggest(e: ErrorObject): string {
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? ` (allowed: ${Object.keys(props).join(', ')})` : '';
}

function isDependency(segments: string[]): boolean {
  return segments.length === 4 && segments[0] === 'services' && segments[2] === 'dependencies';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** The service `name` of sandpiper.yaml; an unknown name fails listing the services there are, and `hint` says
 *  where the name came from. */
export function serviceNamed(config: SandpiperConfig, name: string, hint: string): ServiceConfig {
  const service = config.services[name];
  if (!service)
    throw new SandpiperError(
      'unknown-service',
      `sandpiper.yaml has no service "${name}" (it has: ${Object.keys(config.services).join(', ')}).`,
      hint,
    );
  return service;
}

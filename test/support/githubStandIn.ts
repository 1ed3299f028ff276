// A local HTTP stand-in for GitHub's REST API, the one fake the tests allow. Every request is checked
// against GitHub's published OpenAPI description (@octokit/openapi): an unknown method + path is a 404,
// a bad path/query parameter or JSON body a 422 (bodies also may not carry fields the schema does not
// define, stricter than GitHub so a misspelt field fails). Answers start from the description's examples.
// With `tls` it serves https with a throwaway self-signed certificate; clients trust it through `caFile`
// (NODE_EXTRA_CA_CERTS for a child process), the way a company CA is trusted for GitHub Enterprise.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import type { AddressInfo } from 'node:net';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Json = any;

interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  literals: number;
  op: Json;
}

export interface RecordedRequest {
  method: string;
  /** The path as sent, without the base-URL prefix or query. */
  path: string;
  /** The OpenAPI path template it matched, e.g. /repos/{owner}/{repo}/pulls. */
  template?: string;
  operationId?: string;
  query: Record<string, string>;
  body?: unknown;
  status: number;
  /** Whether an Authorization header was sent (its value is never recorded). */
  authorized: boolean;
}

export interface StoredPullRequest {
  number: number;
  owner: string;
  repo: string;
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
  state: 'open' | 'closed';
  requestedReviewers: string[];
  requestedTeams: string[];
}

export interface StandInOptions {
  /** The only token accepted; anything else is answered 401 Bad credentials. */
  token: string;
  /** Base-URL path prefix, e.g. /api/v3 for GitHub Enterprise. */
  prefix?: string;
  /** Login of the token's user: the author of created PRs. */
  login?: string;
  /** When given, creating a PR whose head branch this says is missing fails with 422 like GitHub. */
  headExists?: (branch: string) => Promise<boolean>;
  /** Serve https (certificate for 127.0.0.1 in `caFile`) instead of plain http. */
  tls?: boolean;
}

interface Fault {
  status: number;
  headers?: Record<string, string>;
  body?: Json;
}

// Resolved at run time (a variable, so bundlers leave the 11 MB description out of test bundles).
const SPEC_MODULE = '@octokit/openapi/generated/api.github.com.json';
let spec: Json | undefined;
let operations: Operation[] | undefined;

function loadSpec(): { spec: Json; operations: Operation[] } {
  if (!spec || !operations) {
    spec = JSON.parse(fs.readFileSync(require.resolve(SPEC_MODULE), 'utf8'));
    const list: Operation[] = [];
    for (const [template, item] of Object.entries<Json>(spec.paths)) {
      for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
        if (!item[method]) continue;
        const names: string[] = [];
        const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+)\\?\}/g, (_m, n: string) => {
          names.push(n);
          return '([^/]+)';
        });
        const literals = template.split('/').filter((s) => s && !s.startsWith('{')).length;
        list.push({
          method: method.toUpperCase(),
          template,
          regex: new RegExp(`^${pattern}$`),
          names,
          literals,
          op: item[method],
        });
      }
    }
    // A literal segment beats a parameter (/pulls/comments before /pulls/{pull_number}).
    operations = list.sort((a, b) => b.literals - a.literals);
  }
  return { spec, operations };
}

function resolveRef(node: Json): Json {
  let n = node;
  while (n && typeof n === 'object' && typeof n.$ref === 'string') {
    n = n.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce((acc: Json, key: string) => acc?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], loadSpec().spec);
  }
  return n;
}

/** Inlines $refs and forbids fields the schema does not name (request bodies only). */
function strictSchema(node: Json, depth = 0): Json {
  if (depth > 25 || node === null || typeof node !== 'object') return node;
  const n = resolveRef(node);
  if (Array.isArray(n)) return n.map((x) => strictSchema(x, depth + 1));
  const out: Json = {};
  for (const [k, v] of Object.entries<Json>(n)) {
    if (k === 'example' || k === 'examples' || k === 'nullable') continue;
    out[k] =
      k === 'properties'
        ? Object.fromEntries(Object.entries<Json>(v).map(([p, s]) => [p, strictSchema(s, depth + 1)]))
        : strictSchema(v, depth + 1);
  }
  if (n.nullable) return { anyOf: [out, { type: 'null' }] };
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false, logger: false, coerceTypes: false });
addFormats(ajv);
const bodyValidators = new Map<string, ValidateFunction>();

let certificate: { key: string; cert: string; caFile: string } | undefined;

/** One self-signed certificate for 127.0.0.1 per test process, made with openssl. */
function selfSignedCertificate(): { key: string; cert: string; caFile: string } {
  if (!certificate) {
    const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'github-stand-in-tls-'));
    const keyFile = nodePath.join(dir, 'key.pem');
    const caFile = nodePath.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        caFile,
      ],
      { stdio: 'ignore' },
    );
    certificate = { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(caFile, 'utf8'), caFile };
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return certificate;
}

function exampleFor(op: Json): { status: number; body: Json } {
  for (const [status, res] of Object.entries<Json>(op.responses ?? {})) {
    if (!/^2/.test(status)) continue;
    const content = resolveRef(res).content?.['application/json'];
    const example = content?.examples ? resolveRef(Object.values<Json>(content.examples)[0])?.value : content?.example;
    return { status: Number(status), body: example === undefined ? undefined : structuredClone(example) };
  }
  return { status: 204, body: undefined };
}

export class GitHubStandIn {
  readonly requests: RecordedRequest[] = [];
  readonly pulls: StoredPullRequest[] = [];
  private readonly faults = new Map<string, Fault>();
  private nextNumber = 1;
  private port?: number;

  private constructor(
    private readonly server: http.Server | https.Server,
    private readonly opts: StandInOptions,
  ) {}

  static async start(opts: StandInOptions): Promise<GitHubStandIn> {
    loadSpec();
    const server = opts.tls
      ? https.createServer({ key: selfSignedCertificate().key, cert: selfSignedCertificate().cert })
      : http.createServer();
    const standIn = new GitHubStandIn(server, opts);
    server.on('request', (req, res) => void standIn.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    void standIn.origin;
    return standIn;
  }

  get origin(): string {
    // Kept after stop() so a test can aim at the closed port.
    this.port ??= (this.server.address() as AddressInfo).port;
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** host:port, as a person would approve it. */
  get host(): string {
    return new URL(this.origin).host;
  }

  /** The PEM certificate a client must trust to reach the https stand-in. */
  get caFile(): string {
    return selfSignedCertificate().caFile;
  }

  /** What to give Octokit as baseUrl. */
  get baseUrl(): string {
    return `${this.origin}${this.opts.prefix ?? ''}`;
  }

  /** The next request to `operationId` gets this answer instead (after validation). */
  failNext(operationId: string, fault: Fault): void {
    this.faults.set(operationId, fault);
  }

  seedPullRequest(pr: Omit<StoredPullRequest, 'number' | 'requestedReviewers' | 'requestedTeams'>): StoredPullRequest {
    const stored = { ...pr, number: this.nextNumber++, requestedReviewers: [], requestedTeams: [] };
    this.pulls.push(stored);
    return stored;
  }

  /** "METHOD operationId" of every request, in order. */
  sequence(): string[] {
    return this.requests.map((r) => `${r.method} ${r.operationId ?? r.path}`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const prefix = this.opts.prefix ?? '';
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) || '/' : url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      query,
      status: 0,
      authorized: !!req.headers.authorization,
    };
    this.requests.push(rec);
    const send = (status: number, body?: Json, headers: Record<string, string> = {}) => {
      rec.status = status;
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-ratelimit-remaining': '4999',
        ...headers,
      });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const docs = 'https://docs.github.com/rest';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');

    if (prefix && !url.pathname.startsWith(prefix)) return send(404, { message: 'Not Found', documentation_url: docs });
    const match = loadSpec().operations.find((o) => o.method === rec.method && o.regex.test(path));
    if (!match) return send(404, { message: 'Not Found', documentation_url: docs });
    rec.template = match.template;
    rec.operationId = match.op.operationId;

    const auth = req.headers.authorization ?? '';
    if (
      auth !== `token ${this.opts.token}` &&
      auth !== `Bearer ${this.opts.token}` &&
      auth !== `bearer ${this.opts.token}`
    ) {
      return send(401, { message: 'Bad credentials', documentation_url: docs, status: '401' });
    }

    const values = match.regex.exec(path)!.slice(1).map(decodeURIComponent);
    const params: Record<string, string> = Object.fromEntries(match.names.map((n, i) => [n, values[i]]));
    const problems: string[] = [];
    const declared = (match.op.parameters ?? []).map(resolveRef);
    for (const p of declared) {
      const value = p.in === 'path' ? params[p.name] : p.in === 'query' ? query[p.name] : undefined;
      if (value === undefined) {
        if (p.required && (p.in === 'path' || p.in === 'query')) problems.push(`missing ${p.in} parameter ${p.name}`);
        continue;
      }
      const schema = resolveRef(p.schema) ?? {};
      const typed =
        schema.type === 'integer' || schema.type === 'number'
          ? Number(value)
          : schema.type === 'boolean'
            ? value === 'true'
            : value;
      if (!ajv.validate(strictSchema(schema), typed))
        problems.push(`${p.in} parameter ${p.name}=${value}: ${ajv.errorsText(ajv.errors)}`);
    }
    for (const name of Object.keys(query)) {
      if (!declared.some((p: Json) => p.in === 'query' && p.name === name))
        problems.push(`unknown query parameter ${name}`);
    }

    let body: Json;
    const requestBody = resolveRef(match.op.requestBody);
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(400, { message: 'Problems parsing JSON', documentation_url: docs });
      }
      rec.body = body;
    }
    const schema = requestBody?.content?.['application/json']?.schema;
    if (schema) {
      if (body === undefined && requestBody.required) problems.push('a JSON body is required');
      if (body !== undefined) {
        const key = `${match.method} ${match.template}`;
        let check = bodyValidators.get(key);
        if (!check) bodyValidators.set(key, (check = ajv.compile(strictSchema(schema))));
        if (!check(body))
          problems.push(
            ...(check.errors ?? []).map(
              (e) =>
                `body${e.instancePath} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${e.params.additionalProperty})` : ''}`,
            ),
          );
      }
    } else if (body !== undefined) {
      problems.push('this operation takes no body');
    }
    if (problems.length)
      return send(422, { message: 'Invalid request.', errors: problems, documentation_url: docs, status: '422' });

    const fault = this.faults.get(rec.operationId!);
    if (fault) {
      this.faults.delete(rec.operationId!);
      return send(
        fault.status,
        fault.body ?? { message: `stand-in fault ${fault.status}`, documentation_url: docs },
        fault.headers,
      );
    }
    const answer = await this.answer(match.op, params, query, body);
    return send(answer.status, answer.body);
  }

  private prJson(pr: StoredPullRequest, example: Json): Json {
    const htmlUrl = `${this.origin}/${pr.owner}/${pr.repo}/pull/${pr.number}`;
    return {
      ...example,
      number: pr.number,
      id: 1000 + pr.number,
      url: `${this.baseUrl}/repos/${pr.owner}/${pr.repo}/pulls/${pr.number}`,
      html_url: htmlUrl,
      state: pr.state,
      title: pr.title,
      body: pr.body,
      draft: pr.draft,
      user: { ...example.user, login: this.opts.login ?? 'octocat' },
      head: { ...example.head, ref: pr.head, label: `${pr.owner}:${pr.head}` },
      base: { ...example.base, ref: pr.base, label: `${pr.owner}:${pr.base}` },
      requested_reviewers: pr.requestedReviewers.map((login) => ({ ...example.user, login })),
      requested_teams: pr.requestedTeams.map((slug) => ({ ...(example.requested_teams?.[0] ?? {}), slug, name: slug })),
    };
  }

  private async answer(
    op: Json,
    params: Record<string, string>,
    query: Record<string, string>,
    body: Json,
  ): Promise<{ status: number; body: Json }> {
    const example = exampleFor(op);
    const { owner, repo } = params;
    switch (op.operationId) {
      case 'pulls/list': {
        const simple = exampleFor(op).body?.[0] ?? {};
        const found = this.pulls.filter(
          (p) =>
            p.owner === owner &&
            p.repo === repo &&
            (query.state === 'all' || p.state === (query.state ?? 'open')) &&
            (!query.head || query.head === `${owner}:${p.head}`) &&
            (!query.base || query.base === p.base),
        );
        return { status: 200, body: found.map((p) => this.prJson(p, simple)) };
      }
      case 'pulls/create': {
        if (
          this.pulls.some((p) => p.owner === owner && p.repo === repo && p.head === body.head && p.state === 'open')
        ) {
          return {
            status: 422,
            body: {
              message: 'Validation Failed',
              errors: [
                {
                  resource: 'PullRequest',
                  code: 'custom',
                  message: `A pull request already exists for ${owner}:${body.head}.`,
                },
              ],
            },
          };
        }
        if (this.opts.headExists && !(await this.opts.headExists(body.head))) {
          return {
            status: 422,
            body: {
              message: 'Validation Failed',
              errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }],
            },
          };
        }
        const pr = this.seedPullRequest({
          owner,
          repo,
          head: body.head,
          base: body.base,
          title: body.title ?? '',
          body: body.body ?? '',
          draft: !!body.draft,
          state: 'open',
        });
        return { status: 201, body: this.prJson(pr, example.body) };
      }
      case 'pulls/request-reviewers': {
        const pr = this.pulls.find(
          (p) => p.owner === owner && p.repo === repo && p.number === Number(params.pull_number),
        );
        if (!pr) return { status: 404, body: { message: 'Not Found' } };
        pr.requestedReviewers.push(...(body?.reviewers ?? []));
        pr.requestedTeams.push(...(body?.team_reviewers ?? []));
        return { status: 201, body: this.prJson(pr, example.body) };
      }
      default:
        return example;
    }
  }
}

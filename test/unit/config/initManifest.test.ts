import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');

interface Manifest {
  icon?: string;
  repository?: { url?: string };
  bugs?: { url?: string };
  keywords?: string[];
  capabilities?: {
    untrustedWorkspaces?: { supported?: unknown; description?: string; restrictedConfigurations?: string[] };
  };
  contributes: {
    commands: Array<{ command: string }>;
    configuration: { properties: Record<string, { scope?: string }> };
    viewsWelcome: Array<{ view: string; contents: string; when?: string }>;
    walkthroughs: Array<{
      steps: Array<{ id: string; description: string; completionEvents: string[]; media: { markdown: string } }>;
    }>;
    menus: Record<string, Array<{ command: string; when?: string }>>;
  };
}

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
const settings = pkg.contributes.configuration.properties;
/** Point at an executable's config, a URL that gets a token or decides a rollback: never the workspace's choice. */
const MACHINE = ['sandpiper.kubeconfig', 'sandpiper.github.baseUrl', 'sandpiper.prometheusUrl'];

describe('package.json: trust, settings, onboarding', () => {
  it('keeps kubeconfig, github.baseUrl and prometheusUrl out of workspace settings (machine scope)', () => {
    for (const key of MACHINE) assert.equal(settings[key]?.scope, 'machine', key);
    assert.equal(settings['sandpiper.github.approvedHosts']?.scope, 'application');
  });

  it('gives every setting a scope', () => {
    for (const [key, s] of Object.entries(settings)) assert.ok(s.scope, `${key} has no scope`);
  });

  it('supports untrusted workspaces in limited mode, restricting the settings that lead outside', () => {
    const trust = pkg.capabilities?.untrustedWorkspaces;
    assert.equal(trust?.supported, 'limited');
    assert.ok(trust?.description && trust.description.length > 20);
    for (const key of MACHINE) assert.ok(trust?.restrictedConfigurations?.includes(key), key);
  });

  it('hides the commands that need trust from the palette in Restricted Mode', () => {
    const palette = new Map(pkg.contributes.menus.commandPalette.map((m) => [m.command, m.when]));
    for (const id of [
      'sandpiper.env.create',
      'sandpiper.rollout.start',
      'sandpiper.pr.draft',
      'sandpiper.selectContext',
    ])
      assert.match(palette.get(id) ?? '', /isWorkspaceTrusted/, id);
    assert.equal(palette.has('sandpiper.init'), false, 'Initialize works without trust');
  });

  it('offers Initialize in the welcome view while the workspace has no sandpiper.yaml', () => {
    const offer = pkg.contributes.viewsWelcome.find((w) => w.contents.includes('(command:sandpiper.init)'));
    assert.ok(offer);
    assert.match(offer.when ?? '', /!sandpiper\.configured/);
    assert.ok(pkg.contributes.commands.some((c) => c.command === 'sandpiper.init'));
  });

  it('tours the first hour, each step completing on its own event, with its page present', () => {
    const steps = pkg.contributes.walkthroughs[0].steps;
    assert.deepEqual(
      steps.map((s) => s.id),
      [
        'selectContext',
        'initialize',
        'createEnvironment',
        'openInBrowser',
        'debug',
        'logs',
        'canary',
        'draftPullRequest',
      ],
    );
    const events = steps.map((s) => s.completionEvents.join(' '));
    assert.equal(new Set(events).size, steps.length, 'no two steps complete on the same event');
    for (const s of steps) {
      assert.ok(s.completionEvents.length, s.id);
      for (const e of s.completionEvents) assert.match(e, /^(onCommand|onContext|onView|onSettingChanged|onLink):./, e);
      assert.ok(existsSync(path.join(ROOT, s.media.markdown)), s.media.markdown);
    }
  });

  it('names an icon (128×128 PNG), keywords, repository and bugs', () => {
    const png = readFileSync(path.join(ROOT, pkg.icon ?? 'missing'));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
    assert.ok(pkg.keywords?.includes('kubernetes'));
    assert.match(pkg.repository?.url ?? '', /^https:\/\//);
    assert.match(pkg.bugs?.url ?? '', /^https:\/\//);
  });
});

import { appendFileSync, realpathSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageChecks } from './support/scripts.js';
import { must, RepositoryCopy } from './support/workspace.js';

const { checkPackages, publishablePackages } = packageChecks;

interface PackageLock {
  packages: Record<string, { version?: string; dependencies?: Record<string, string> }>;
}

// nx release as configured in nx.json, run for real (commits, tags, changelogs, lock file) in a
// clone of this repository: the first release on the existing history, a fix in one package, then
// a breaking change in core, and afterwards an offline `npm ci` of the bumped workspace.
describe('nx release on a copy of this repository', () => {
  let repo: RepositoryCopy;
  let published: string[];
  const versionOf = (folder: string) => String(repo.json(`${folder}/package.json`).version);
  const tagsAtHead = () => repo.git('tag', '--points-at', 'HEAD').split('\n').filter(Boolean).sort();

  beforeAll(() => {
    repo = new RepositoryCopy();
    published = publishablePackages(repo.root).map((p) => p.folder);
  });

  afterAll(() => {
    repo?.remove();
  });

  it('makes the first release at the versions on disk: a tag and a CHANGELOG.md per package', () => {
    expect(published.length).toBeGreaterThanOrEqual(16);
    const r = repo.nx('release', '0.1.0', '--first-release', '--skip-publish');
    expect(r.status, r.output).toBe(0);
    expect(repo.git('log', '-1', '--format=%s')).toBe('chore(release): publish\n');
    const tags = tagsAtHead();
    for (const folder of published) {
      const { name } = repo.json(`${folder}/package.json`);
      expect(versionOf(folder), folder).toBe('0.1.0');
      expect(tags, folder).toContain(`${name}@0.1.0`);
      expect(repo.read(`${folder}/CHANGELOG.md`), folder).toMatch(/^## 0\.1\.0 \(\d{4}-\d{2}-\d{2}\)$/m);
    }
    // core's entry is made from the conventional commits already in the history.
    expect(repo.read('packages/core/CHANGELOG.md')).toContain('### 🚀 Features');
    expect(checkPackages(repo.root).problems).toEqual([]);
    expect(repo.git('status', '--porcelain')).toBe('');
  });

  it('--dry-run of a fix to one package plans it and its dependents, with the changelog entry, and writes nothing', () => {
    appendFileSync(repo.path('packages/codec-wazo/src/index.ts'), '// release test\n');
    repo.git('commit', '--quiet', '--no-verify', '-am', 'fix(codec-wazo): accept notification types in any case');
    const head = repo.git('rev-parse', 'HEAD');

    const r = repo.nx('release', '--dry-run', '--skip-publish');
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/@pushrelay\/codec-wazo [^\n]*New version 0\.1\.1 written/);
    expect(r.output).toMatch(/@pushrelay\/http-gateway [^\n]*because a dependency was bumped/);
    expect(r.output).toMatch(/@pushrelay\/core [^\n]*No changes were detected/);
    expect(r.output).toContain('- **codec-wazo:** accept notification types in any case');
    expect(r.output).not.toMatch(/@pushrelay\/codec-ecss [^\n]*New version/);

    expect(repo.git('rev-parse', 'HEAD')).toBe(head);
    expect(repo.git('status', '--porcelain')).toBe('');
    expect(tagsAtHead()).toEqual([]);
  });

  it('releases the fix: the package, the app kit and the apps using it, their pins, changelogs and tags', () => {
    const r = repo.nx('release', '--skip-publish');
    expect(r.status, r.output).toBe(0);
    // Both apps depend on codec-wazo (they offer the codecs they depend on); the app kit's tests do,
    // and so does the bench, whose fuzz targets decode with every codec (a private tool: no changelog).
    expect(tagsAtHead()).toEqual([
      '@pushrelay/app-kit@0.1.1',
      '@pushrelay/bench@0.1.1',
      '@pushrelay/codec-wazo@0.1.1',
      '@pushrelay/http-gateway@0.1.1',
      '@pushrelay/sip-bridge@0.1.1',
    ]);
    expect(versionOf('packages/codec-wazo')).toBe('0.1.1');
    expect(versionOf('packages/app-kit')).toBe('0.1.1');
    expect(versionOf('apps/http-gateway')).toBe('0.1.1');
    expect(versionOf('apps/sip-bridge')).toBe('0.1.1');
    const bumped = ['packages/codec-wazo', 'packages/app-kit', 'apps/http-gateway'];
    for (const folder of published.filter((f) => !bumped.includes(f))) expect(versionOf(folder), folder).toBe('0.1.0');
    expect(repo.json('apps/http-gateway/package.json').dependencies?.['@pushrelay/codec-wazo']).toBe('^0.1.1');
    expect(repo.json('apps/sip-bridge/package.json').dependencies?.['@pushrelay/codec-wazo']).toBe('^0.1.1');
    expect(repo.json('packages/app-kit/package.json').devDependencies?.['@pushrelay/codec-wazo']).toBe('^0.1.1');

    const changelog = repo.read('packages/codec-wazo/CHANGELOG.md');
    expect(changelog.indexOf('## 0.1.1')).toBeLessThan(changelog.indexOf('## 0.1.0'));
    expect(changelog).toMatch(
      /## 0\.1\.1 [^\n]*\n\n### 🩹 Fixes\n\n- \*\*codec-wazo:\*\* accept notification types in any case/,
    );
    const lock = repo.json<PackageLock>('package-lock.json');
    expect(lock.packages['packages/codec-wazo']?.version).toBe('0.1.1');
    expect(lock.packages['apps/http-gateway']?.dependencies?.['@pushrelay/codec-wazo']).toBe('^0.1.1');
    expect(checkPackages(repo.root).problems).toEqual([]);
  });

  it('releases a breaking change to core: 0.2.0, every dependent bumped, every range on core moved to ^0.2.0', () => {
    appendFileSync(repo.path('packages/core/src/index.ts'), '// release test\n');
    repo.git('commit', '--quiet', '--no-verify', '-am', 'feat(core)!: a breaking change for the release test');
    const r = repo.nx('release', '--skip-publish');
    expect(r.status, r.output).toBe(0);
    expect(versionOf('packages/core')).toBe('0.2.0');
    expect(tagsAtHead()).toContain('@pushrelay/core@0.2.0');
    expect(repo.read('packages/core/CHANGELOG.md')).toMatch(/## 0\.2\.0[^\n]*\n[\s\S]*### ⚠️ {1,2}Breaking Changes/);

    const fields = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;
    const dependents: string[] = [];
    for (const folder of ['packages', 'apps', 'tools'].flatMap((g) =>
      repo.git('ls-files', `${g}/*/package.json`).split('\n').filter(Boolean),
    )) {
      const manifest = repo.json(folder);
      const ranges = fields.map((f) => manifest[f]?.['@pushrelay/core']).filter((v): v is string => v !== undefined);
      if (ranges.length === 0 || manifest.name === '@pushrelay/core') continue;
      dependents.push(manifest.name);
      for (const range of ranges) expect(range, folder).toBe('^0.2.0');
      expect(tagsAtHead(), folder).toContain(`${manifest.name}@${manifest.version}`);
    }
    expect(dependents).toEqual(
      expect.arrayContaining(['@pushrelay/codec-wazo', '@pushrelay/http-gateway', '@pushrelay/sip-bridge']),
    );
    expect(versionOf('packages/codec-wazo')).toBe('0.1.2');
    expect(versionOf('packages/sip')).toBe('0.1.0');
    expect(checkPackages(repo.root).problems).toEqual([]);
  });

  it('leaves the workspace installable offline: npm ci from the lock file and the npm cache alone', () => {
    repo.unlinkModules();
    // --ignore-scripts: nothing here needs better-sqlite3's native build, which takes minutes.
    must('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], repo.root);
    const linked = JSON.parse(
      must('npm', ['ls', '--offline', '--json', '--depth=0', '@pushrelay/core'], repo.root),
    ) as {
      dependencies: Record<string, { version: string }>;
    };
    expect(linked.dependencies['@pushrelay/core']?.version).toBe('0.2.0');
    must('npm', ['ls', '--offline', '--all'], repo.root);
    expect(realpathSync(repo.path('node_modules', '@pushrelay', 'core'))).toBe(repo.path('packages', 'core'));
  });
});

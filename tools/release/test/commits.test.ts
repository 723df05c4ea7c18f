import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commitChecks } from './support/scripts.js';
import { childEnv, must, run, workspaceRoot } from './support/workspace.js';

const { checkRange, messageProblem } = commitChecks;

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'pushrelay-commits-'));
  dirs.push(dir);
  return dir;
};

describe('commit messages', () => {
  it('accepts what nx release reads as conventional commits, and what git writes itself', () => {
    for (const message of [
      'feat(codec-wazo): accept exampleNotification',
      'fix: honour Retry-After on 503',
      'feat(core)!: rename PushType',
      'perf(transport-apns): reuse the JWT across apps',
      'chore(release): publish\n\n- project: @pushrelay/core 0.2.0',
      'docs(core,codec-wazo): explain deadlines',
      'fix(sip-bridge): 480 when the phone does not come back\n\nThe INVITE was held forever.\n\nBREAKING CHANGE: wait is now in ms',
      "Merge branch 'release'",
      'Revert "feat(core): rename PushType"\n\nThis reverts commit 1234567.',
      '# Please enter the commit message\nfix(core): a fix\n# Lines starting with # are ignored',
    ]) {
      expect(messageProblem(message), message).toBeNull();
    }
  });

  it('refuses what nx release would leave out of the changelog, saying why', () => {
    const cases: Array<[string, string]> = [
      ['sip-bridge: drop late events', 'is not "<type>(<scope>): <subject>"'],
      ['Fix the bridge', 'is not "<type>(<scope>): <subject>"'],
      ['feature(core): x', 'type "feature" is not one of'],
      ['feat(Core): x', 'scope "Core" must be lower-case'],
      ['feat(core):x', 'is not "<type>(<scope>): <subject>"'],
      ['feat(core): ', 'is not "<type>(<scope>): <subject>"'],
      ['fix(core): a\nno blank line', 'followed by an empty line'],
      ['fixup! fix(core): a', 'squash it before it lands'],
      ['', 'empty'],
    ];
    for (const [message, why] of cases) expect(messageProblem(message), message).toContain(why);
    expect(messageProblem('fixup! fix(core): a', { allowFixup: true })).toBeNull();
  });

  it('checks a range of commits and names each bad one', () => {
    const repo = temp();
    const env = childEnv();
    must('git', ['init', '--quiet', '-b', 'main'], repo, env);
    const commit = (message: string) => {
      writeFileSync(join(repo, 'file.txt'), `${message}\n`);
      must('git', ['add', 'file.txt'], repo, env);
      must('git', ['commit', '--quiet', '--no-verify', '-m', message], repo, env);
      return must('git', ['rev-parse', 'HEAD'], repo, env).trim();
    };
    const base = commit('an old message before the rule');
    commit('feat(core): a feature');
    const bad = commit('core: not conventional');
    commit('fix(core): a fix');
    const { checked, problems } = checkRange(repo, { from: base });
    expect(checked).toBe(3);
    expect(problems).toEqual([
      `${bad.slice(0, 10)}: type "core" is not one of feat, fix, perf, refactor, docs, build, types, chore, examples, test, style, ci, revert (the package goes in the scope: "fix(core): ...")`,
    ]);
  });

  it('holds for every commit of this repository since the rule (or the last release)', () => {
    const { problems } = checkRange(workspaceRoot);
    expect(problems).toEqual([]);
  });

  it('is what the commit-msg hook runs', () => {
    const dir = temp();
    const good = join(dir, 'good');
    const bad = join(dir, 'bad');
    writeFileSync(good, 'fix(core): a fix\n');
    writeFileSync(bad, 'a fix\n');
    const hook = join(workspaceRoot, '.githooks', 'commit-msg');
    expect(run(hook, [good], workspaceRoot).status).toBe(0);
    const refused = run(hook, [bad], workspaceRoot);
    expect(refused.status).toBe(1);
    expect(refused.output).toContain('commit message: "a fix" is not');
  });
});

#!/usr/bin/env node
// Commit messages drive releases: `nx release` reads each commit's type (and `!` or a
// `BREAKING CHANGE:` footer) to bump the packages whose files it touched, and writes the subject
// into their CHANGELOG.md. This fails on a message nx release would not read as a conventional
// commit, so a change cannot reach main without reaching the changelog.
//
// Usage:
//   node tools/scripts/check-commits.mjs --message-file .git/COMMIT_EDITMSG   (the commit-msg hook)
//   node tools/scripts/check-commits.mjs [--from <rev>] [--to <rev>]         (a range; npm test)
// Without --from the range starts after the newest release tag, or, before the first release, at
// the commit that introduced this check (older history predates the rule).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** nx release's default commit types; nx.json's release.conventionalCommits.types may add more. */
export const DEFAULT_TYPES = [
  'feat',
  'fix',
  'perf',
  'refactor',
  'docs',
  'build',
  'types',
  'chore',
  'examples',
  'test',
  'style',
  'ci',
  'revert',
];

const HEADER = /^(?<type>[a-z]+)(?:\((?<scope>[^()\s]*)\))?(?<breaking>!)?: (?<subject>\S.*)$/;
const SCOPE = /^[a-z0-9][a-z0-9./-]*(?:,\s?[a-z0-9][a-z0-9./-]*)*$/;

/**
 * @param {string} root
 * @returns {string[]}
 */
export function commitTypes(root) {
  try {
    const nx = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8'));
    const extra = Object.keys(nx.release?.conventionalCommits?.types ?? {});
    return [...new Set([...DEFAULT_TYPES, ...extra])];
  } catch {
    return DEFAULT_TYPES;
  }
}

/**
 * Why a commit message is not a conventional commit nx release can use, or null when it is.
 * @param {string} message the whole message; lines starting with '#' are git's comments
 * @param {{ types?: string[], allowFixup?: boolean }} [options]
 * @returns {string | null}
 */
export function messageProblem(message, options = {}) {
  const types = options.types ?? DEFAULT_TYPES;
  const lines = message
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .trim()
    .split('\n');
  const header = lines[0]?.trim() ?? '';
  if (header === '') return 'the message is empty';
  // git writes these itself: a merge, and `git revert`'s default message.
  if (/^Merge (branch|pull request|remote-tracking branch|tag|commit) /.test(header)) return null;
  if (/^Revert ".+"$/.test(header)) return null;
  if (/^(fixup|squash|amend)! /.test(header)) {
    return options.allowFixup ? null : `"${header}" is a fixup commit: squash it before it lands`;
  }
  const m = HEADER.exec(header);
  if (!m?.groups) {
    return `"${header}" is not "<type>(<scope>): <subject>" (e.g. "fix(transport-fcm): honour Retry-After on 503")`;
  }
  const { type, scope } = m.groups;
  if (!types.includes(type)) {
    return `type "${type}" is not one of ${types.join(', ')} (the package goes in the scope: "fix(${type}): ...")`;
  }
  if (scope !== undefined && !SCOPE.test(scope)) {
    return `scope "${scope}" must be lower-case words joined by dashes, e.g. the package folder (codec-wazo)`;
  }
  if (lines.length > 1 && lines[1]?.trim() !== '') return 'the header must be followed by an empty line';
  return null;
}

/** @param {string[]} args @param {string} cwd */
function git(args, cwd) {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Where the checked range starts: after the newest release tag, else at the commit that added this
 * file (that commit included), else nowhere (nothing to check).
 * @param {string} root
 * @returns {{ exclusive: string } | { inclusive: string } | null}
 */
export function defaultBase(root) {
  const tags = git(['for-each-ref', '--sort=-creatordate', '--format=%(objectname)', 'refs/tags/@pushrelay/*'], root)
    .split('\n')
    .filter(Boolean);
  if (tags[0]) return { exclusive: git(['rev-list', '-n', '1', tags[0]], root).trim() };
  const self = relative(root, fileURLToPath(import.meta.url));
  const added = git(['log', '--format=%H', '--diff-filter=A', '--', self], root).trim().split('\n').filter(Boolean);
  const first = added[added.length - 1];
  return first ? { inclusive: first } : null;
}

/**
 * @param {string} root
 * @param {{ from?: string, to?: string }} [range]
 * @returns {{ checked: number, problems: string[] }}
 */
export function checkRange(root, range = {}) {
  const to = range.to ?? 'HEAD';
  const base = range.from ? { exclusive: range.from } : defaultBase(root);
  if (!base) return { checked: 0, problems: [] };
  const spec =
    'exclusive' in base
      ? [`${base.exclusive}..${to}`]
      : [
          `${base.inclusive}..${to}`,
          ...(git(['rev-list', '--no-merges', '-n', '1', base.inclusive], root).trim() ? [base.inclusive] : []),
        ];
  const types = commitTypes(root);
  const seen = new Set();
  const problems = [];
  for (const rev of spec) {
    const args = rev.includes('..')
      ? ['log', '--no-merges', '--format=%H%x00%B%x1e', rev]
      : ['log', '-1', '--no-merges', '--format=%H%x00%B%x1e', rev];
    for (const record of git(args, root).split('\x1e')) {
      const [hash, message] = record.replace(/^\n/, '').split('\x00');
      if (!hash || message === undefined || seen.has(hash)) continue;
      seen.add(hash);
      const problem = messageProblem(message, { types });
      if (problem) problems.push(`${hash.slice(0, 10)}: ${problem}`);
    }
  }
  return { checked: seen.size, problems };
}

const invokedDirectly = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const value = (/** @type {string} */ name) => {
    const i = args.indexOf(name);
    return i === -1 ? undefined : args[i + 1];
  };
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const file = value('--message-file');
  if (file) {
    const problem = messageProblem(readFileSync(file, 'utf8'), { types: commitTypes(root), allowFixup: true });
    if (problem) {
      console.error(`commit message: ${problem}`);
      console.error('See "Commits" in CONTRIBUTING.md: <type>(<scope>): <subject>, types as nx release reads them.');
      process.exit(1);
    }
    process.exit(0);
  }
  const { checked, problems } = checkRange(root, { from: value('--from'), to: value('--to') });
  if (problems.length > 0) {
    console.error(`check-commits: ${problems.length} of ${checked} commit(s) are not conventional commits:`);
    for (const p of problems) console.error(`  - ${p}`);
    process.exit(1);
  }
  console.log(`check-commits: ${checked} commit(s) are conventional commits`);
}

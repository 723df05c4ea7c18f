// Lints pieces of code as if they were files of the workspace in the current directory, with that
// workspace's own eslint.config.mjs, and prints each file's messages as JSON. It runs as a child
// process so Nx's rules see this directory as the workspace root (Nx fixes the root once per
// process), and takes every case at once because loading ESLint and the project graph is the slow part.
//
// Input (argv[2]): JSON [{ "filePath": "/abs/path.ts", "code": "..." }, ...]
import { ESLint } from 'eslint';

const cases = JSON.parse(process.argv[2] ?? '[]');
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const { filePath, code } of cases) {
  const [result] = await eslint.lintText(code, { filePath });
  out.push((result?.messages ?? []).map(({ ruleId, message, severity }) => ({ ruleId, message, severity })));
}
process.stdout.write(JSON.stringify(out));

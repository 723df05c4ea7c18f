// Loaded with `node --import` into a process under measurement. On SIGUSR2 it writes to the file
// named by PUSHRELAY_PROBE_OUT its memory (process.memoryUsage, in bytes) and the npm packages it
// has loaded. A signal, not a timer, so the probe adds no work to the idle process it measures.
//
// The packages come from the CommonJS module cache and, with PUSHRELAY_PROBE_MODULES=1, from a
// resolve hook that sees every ES module import too. The hook runs in a thread of its own that
// costs memory, so RSS figures are taken without it.
import { writeFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import { getHeapSpaceStatistics } from 'node:v8';
import { MessageChannel } from 'node:worker_threads';

const out = process.env.PUSHRELAY_PROBE_OUT;
const resolved = new Set();

if (out && process.env.PUSHRELAY_PROBE_MODULES === '1') {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url) => resolved.add(url));
  port1.unref();
  const hooks = `
    let port;
    export function initialize(data) { port = data.port; }
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      port.postMessage(result.url);
      return result;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, {
    data: { port: port2 },
    transferList: [port2],
  });
}

/** `.../node_modules/@scope/name/...` and `.../node_modules/name/...` as the package name. */
function packageOf(path) {
  const at = path.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const [first, second] = path.slice(at + '/node_modules/'.length).split('/');
  return first?.startsWith('@') ? `${first}/${second}` : first;
}

if (out) {
  process.on('SIGUSR2', () => {
    const paths = [...Object.keys(Module._cache), ...[...resolved].map((url) => decodeURIComponent(url))];
    const packages = [...new Set(paths.map(packageOf).filter((name) => name !== undefined))].sort();
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
    );
    writeFileSync(out, JSON.stringify({ memory: process.memoryUsage(), spaces, packages }));
  });
}

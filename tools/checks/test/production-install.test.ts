import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface NpmTree {
  dependencies?: Record<string, NpmTree>;
}

/** Every package of a production install, each with the chain of packages that brings it in. */
function productionPackages(workspace: string): { name: string; chain: string[] }[] {
  const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--json', '-w', workspace], {
    cwd: workspaceRoot,
    encoding: 'utf8',
  });
  const tree = JSON.parse(ls.stdout) as NpmTree;
  const found: { name: string; chain: string[] }[] = [];
  const walk = (node: NpmTree, chain: string[]) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      found.push({ name, chain: [...chain, name] });
      walk(child, [...chain, name]);
    }
  };
  walk(tree, []);
  return found;
}

describe('the production install of the HTTP gateway', () => {
  const installed = productionPackages('@pushrelay/http-gateway');

  it('is the gateway with its runtime dependencies', () => {
    expect(installed.map((p) => p.name)).toEqual(
      expect.arrayContaining(['@pushrelay/http-gateway', '@pushrelay/core', 'fastify']),
    );
  });

  it('has no test tooling: no simulators, no testkit', () => {
    const tooling = installed.filter((p) => p.name === '@pushrelay/simulators' || p.name === '@pushrelay/testkit');
    expect(tooling.map((p) => p.chain.join(' > '))).toEqual([]);
  });

  it('has no node-forge (the simulators need it; transport-apns signs with node:crypto)', () => {
    const forge = installed.filter((p) => p.name === 'node-forge');
    expect(forge.map((p) => p.chain.join(' > '))).toEqual([]);
  });
});

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workspaceRoot } from './workspace.js';

// The workspace's plain-JavaScript scripts, loaded by URL (they live outside this project's
// TypeScript root), with the types of what these tests use.

/** The parts of a package.json these tests read. */
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  files?: string[];
  exports?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface WorkspaceProject {
  dir: string;
  folder: string;
  manifest: Manifest;
}

export interface CheckPackagesModule {
  checkPackages(root: string): { checked: string[]; problems: string[] };
  fixPackages(root: string): string[];
  publishablePackages(root: string): WorkspaceProject[];
  workspaceProjects(root: string): WorkspaceProject[];
  satisfies(range: string, version: string): boolean | undefined;
  withMetadata(manifest: Record<string, unknown>, metadata: Record<string, unknown>): Record<string, unknown>;
  expectedMetadata(rootManifest: Record<string, unknown>, folder: string): Record<string, unknown>;
}

export interface CheckCommitsModule {
  DEFAULT_TYPES: string[];
  messageProblem(message: string, options?: { types?: string[]; allowFixup?: boolean }): string | null;
  checkRange(root: string, range?: { from?: string; to?: string }): { checked: number; problems: string[] };
}

export const checkPackagesScript = join(workspaceRoot, 'tools', 'scripts', 'check-packages.mjs');
export const checkCommitsScript = join(workspaceRoot, 'tools', 'scripts', 'check-commits.mjs');

export const packageChecks = (await import(pathToFileURL(checkPackagesScript).href)) as CheckPackagesModule;
export const commitChecks = (await import(pathToFileURL(checkCommitsScript).href)) as CheckCommitsModule;

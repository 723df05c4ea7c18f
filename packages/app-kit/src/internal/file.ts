import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.js';
import { isObject, type Raw } from './reader.js';

/** Reads a JSON or YAML (`.yaml`, `.yml`) configuration file; it must hold an object. */
export function readConfigFile(path: string, source: string = path): Raw {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: '', message: `cannot read ${path}: ${(error as Error).message}` }], source);
  }
  const yaml = /\.ya?ml$/i.test(path);
  let parsed: unknown;
  try {
    parsed = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      [{ path: '', message: `${path} is not ${yaml ? 'YAML' : 'JSON'}: ${(error as Error).message}` }],
      source,
    );
  }
  if (!isObject(parsed)) throw new ConfigError([{ path: '', message: `${path} must hold an object` }], source);
  return parsed;
}

import { ValidationError, type Issue } from '@pushrelay/core';

/**
 * Every problem of a configuration, each with its path, found in one pass. A core
 * `ValidationError`, so code that catches those catches it too.
 */
export class ConfigError extends ValidationError {
  override readonly code = 'config_invalid';
  constructor(issues: Issue[], source = 'configuration') {
    super(issues, source);
  }
}

/** Something worth telling the operator about a configuration that still works (a renamed key). */
export interface ConfigWarning {
  path: string;
  message: string;
}

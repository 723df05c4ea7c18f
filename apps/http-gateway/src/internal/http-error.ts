import type { Issue } from '@pushrelay/core';

/** An error answered as `{error, message, details}` with its status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Issue[] = [],
  ) {
    super(message);
  }
}

export const unauthorized = (message = 'a valid API key is required: Authorization: Bearer <key>') =>
  new HttpError(401, 'unauthorized', message);
export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`);
export const badRequest = (message: string, details: Issue[] = []) =>
  new HttpError(400, 'bad_request', message, details);

// Workspace packages export their TypeScript sources under the "@pushrelay/source" condition,
// so tests run against src/ without a build step.
import { defaultClientConditions, defaultServerConditions } from 'vite';

export const sourceConditions = {
  resolve: { conditions: ['@pushrelay/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@pushrelay/source', ...defaultServerConditions] } },
};

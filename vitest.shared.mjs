// Workspace packages export their TypeScript sources under the "@pushrelay/source" condition,
// so tests run against src/ without a build step.
import { defaultClientConditions, defaultServerConditions } from 'vite';

// Without the "module" condition on the server side: packages that publish an extensionless ESM
// build under it (the OpenTelemetry packages) are then loaded as Node loads them in production.
const serverConditions = defaultServerConditions.filter((c) => c !== 'module');

export const sourceConditions = {
  resolve: { conditions: ['@pushrelay/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@pushrelay/source', ...serverConditions] } },
};

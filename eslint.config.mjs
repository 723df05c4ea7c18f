import nx from '@nx/eslint-plugin';

// Which kinds of project may import which. Adapters see only core (tests may use testkit and the
// simulators too); transports may also use the provider kit (shared HTTP/OAuth plumbing, itself
// core-only); the simulators implement testkit's simulated-provider protocol; the app kit (the
// apps' shared kernel) uses the adapters it builds from config; apps may use anything but another
// app, and only apps may use the app kit.
const srcConstraints = [
  { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:none'] },
  { sourceTag: 'type:protocol', onlyDependOnLibsWithTags: ['type:none'] },
  { sourceTag: 'type:testkit', onlyDependOnLibsWithTags: ['type:core'] },
  { sourceTag: 'type:simulators', onlyDependOnLibsWithTags: ['type:core', 'type:testkit'] },
  { sourceTag: 'type:codec', onlyDependOnLibsWithTags: ['type:core'] },
  { sourceTag: 'type:provider-kit', onlyDependOnLibsWithTags: ['type:core'] },
  { sourceTag: 'type:transport', onlyDependOnLibsWithTags: ['type:core', 'type:provider-kit'] },
  { sourceTag: 'type:store', onlyDependOnLibsWithTags: ['type:core'] },
  { sourceTag: 'type:queue', onlyDependOnLibsWithTags: ['type:core'] },
  {
    sourceTag: 'type:app-kit',
    onlyDependOnLibsWithTags: ['type:core', 'type:codec', 'type:transport', 'type:store', 'type:queue'],
  },
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: [
      'type:core',
      'type:protocol',
      'type:codec',
      'type:transport',
      'type:provider-kit',
      'type:store',
      'type:queue',
      'type:testkit',
      'type:simulators',
      'type:app-kit',
    ],
  },
  { sourceTag: 'type:tool', notDependOnLibsWithTags: ['type:app', 'type:app-kit'] },
];

const adapterTags = ['type:codec', 'type:transport', 'type:store', 'type:queue'];
const testConstraints = srcConstraints.map((c) =>
  c.sourceTag === 'type:transport'
    ? { ...c, onlyDependOnLibsWithTags: ['type:core', 'type:provider-kit', 'type:testkit', 'type:simulators'] }
    : adapterTags.includes(c.sourceTag)
      ? { ...c, onlyDependOnLibsWithTags: ['type:core', 'type:testkit', 'type:simulators'] }
      : c.sourceTag === 'type:protocol'
        ? { ...c, onlyDependOnLibsWithTags: ['type:core', 'type:testkit', 'type:simulators'] }
        : c.sourceTag === 'type:app-kit'
          ? { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testkit', 'type:simulators'] }
          : c,
);

const boundaries = (depConstraints) => ({
  '@nx/enforce-module-boundaries': [
    'error',
    {
      enforceBuildableLibDependency: false,
      allow: [],
      // Their pure subpaths (`/url`, `/endpoint`) are imported statically to check a
      // configuration or a request; the entries that load ioredis and web-push are imported on
      // demand. The demo sends through Web Push on purpose.
      checkDynamicDependenciesExceptions: ['@pushrelay/store-redis', '@pushrelay/transport-webpush'],
      banTransitiveDependencies: false,
      depConstraints,
    },
  ],
});

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/node_modules', '**/.nx', '**/vitest.config.*.timestamp*', '**/files/**'],
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.js', '**/*.mjs'],
    rules: {
      ...boundaries(srcConstraints),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-empty-function': 'off',
    },
  },
  {
    files: ['**/test/**/*.ts', '**/*.test.ts', '**/bench/**/*.ts'],
    rules: boundaries(testConstraints),
  },
  {
    // Test tooling never reaches an app's production code (the gateway's demo entry and the tests
    // may use it): a production install has no simulators and no node-forge.
    files: ['apps/*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['@pushrelay/testkit', '@pushrelay/simulators'].map((name) => ({
            name,
            message: 'test tooling: only tests and the demo entry may import it',
          })),
        },
      ],
    },
  },
  {
    // Config files reach the shared root config by path; they are not part of any package's code.
    files: ['**/vitest.config.ts', '**/eslint.config.mjs', 'vitest.shared.mjs'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
];

// Lint enforces the layering of DEVELOPERS.md: imports point down only.
//   core  <- model, net, worker  <- apps
// packages/core imports nothing outside itself and never reaches for time, randomness or the DOM.
import tseslint from 'typescript-eslint';

const forbid = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'reports/**', 'test-results/**', 'public/data/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\.{1,2}/)', message: 'packages/core is pure: no dependencies, relative imports only.' }] }],
      'no-restricted-globals': ['error', 'window', 'document', 'setTimeout', 'setInterval', 'performance', 'crypto', 'navigator', 'fetch'],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Inject time.' },
        { object: 'Math', property: 'random', message: 'Inject randomness (see rng.ts).' }],
    },
  },
  {
    files: ['packages/model/**/*.ts'],
    rules: forbid(['peerjs', 'comlink', '@tensorflow/tfjs-backend-*', '@tabswarm/net', '@tabswarm/worker', '@tabswarm/coordinator', '@tabswarm/learner'],
      'packages/model uses TF.js ops only and never names a backend.'),
  },
  {
    files: ['packages/net/**/*.ts'],
    rules: forbid(['@tensorflow/*', 'comlink', '@tabswarm/model', '@tabswarm/worker', '@tabswarm/coordinator', '@tabswarm/learner'],
      'packages/net is transport only.'),
  },
  {
    files: ['packages/worker/**/*.ts'],
    rules: forbid(['peerjs', '@tabswarm/net', '@tabswarm/coordinator', '@tabswarm/learner'], 'packages/worker never touches the network.'),
  },
  {
    files: ['apps/coordinator/**/*.ts'],
    rules: forbid(['peerjs', 'comlink', '@tensorflow/tfjs-backend-*', '@tabswarm/learner', '**/learner/**'],
      'apps go through packages/net and packages/worker, and never import each other.'),
  },
  {
    files: ['apps/learner/**/*.ts'],
    rules: forbid(['peerjs', 'comlink', '@tensorflow/tfjs-backend-*', '@tabswarm/coordinator', '**/coordinator/**'],
      'apps go through packages/net and packages/worker, and never import each other.'),
  },
);

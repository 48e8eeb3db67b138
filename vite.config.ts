import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// The browser apps live under apps/ and are built as one multi-page site: / (landing),
// /coordinator/ and /learner/. Data files built from npm packages are served from public/.
export default defineConfig({
  root: resolve(import.meta.dirname, 'apps'),
  publicDir: resolve(import.meta.dirname, 'public'),
  base: './',
  build: {
    outDir: resolve(import.meta.dirname, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096, // TF.js is large by nature; the warning would be noise
    rollupOptions: {
      input: {
        index: resolve(import.meta.dirname, 'apps/index.html'),
        coordinator: resolve(import.meta.dirname, 'apps/coordinator/index.html'),
        learner: resolve(import.meta.dirname, 'apps/learner/index.html'),
      },
    },
  },
  worker: { format: 'es' },
  test: {
    root: import.meta.dirname,
    // e2e/*.test.ts: pure helpers of the browser tools; the Playwright specs there are *.spec.ts.
    include: ['packages/**/src/**/*.test.ts', 'apps/**/src/**/*.test.ts', 'e2e/*.test.ts'],
    // Property and fuzz tests run thousands of cases; 2-core CI machines need headroom.
    testTimeout: 60_000,
  },
});

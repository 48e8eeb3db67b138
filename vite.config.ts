import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/**/src/**/*.test.ts'],
    // Property and fuzz tests run thousands of cases; 2-core CI machines need headroom.
    testTimeout: 60_000,
  },
});

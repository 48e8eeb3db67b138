import { defineConfig } from '@playwright/test';
import { chromiumArgs, executablePath } from '@tabswarm/testing';

// Real Chromium, real WebRTC, real TF.js: one worker, because every tab trains on a 2-core machine.
export default defineConfig({
  testDir: './specs',
  workers: 1,
  timeout: 300_000,
  retries: 0,
  reporter: [['list']],
  outputDir: '../test-results',
  use: { launchOptions: { args: chromiumArgs, ...(executablePath ? { executablePath } : {}) } },
});

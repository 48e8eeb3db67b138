import { existsSync } from 'node:fs';
import { chromium, type Browser } from '@playwright/test';

/** Debian's Chromium where installed (Playwright's own download cannot run here), else Playwright's. */
export const executablePath = existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;

export const chromiumArgs = [
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-webgpu', // without it there is no WebGPU adapter at all (docs/browser.md §1)
  // Learner tabs must keep training when not focused: no timer throttling or occlusion pauses.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ headless: true, args: chromiumArgs, ...(executablePath ? { executablePath } : {}) });
}

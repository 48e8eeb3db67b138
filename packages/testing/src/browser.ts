import { existsSync } from 'node:fs';
import { chromium, type Browser } from '@playwright/test';

/** Debian's Chromium where installed (Playwright's own download cannot run here), else Playwright's. */
export const executablePath = existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;

/** What every launch needs; a browser with these alone throttles hidden tabs as a volunteer's does (docs/browser.md §5). */
export const baseChromiumArgs = [
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-webgpu', // without it there is no WebGPU adapter at all (docs/browser.md §1)
];

/** Specs and `npm run swarm` measure training, not the browser's background policy: no timer throttling or occlusion pauses. */
export const chromiumArgs = [
  ...baseChromiumArgs,
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ headless: true, args: chromiumArgs, ...(executablePath ? { executablePath } : {}) });
}

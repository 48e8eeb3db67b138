// @tabswarm/testing: the Playwright fixture, the stack it starts, and the Chromium launcher (README, "Testing your own multi-tab scenarios").
export { expect, test, type CoordinatorView, type LearnerView, type Swarm } from './fixture';
export { ensureBuilt, startStack, type Stack, type StackOptions } from './stack';
export { baseChromiumArgs, chromiumArgs, executablePath, launchBrowser } from './browser';
export { launchThrottledBrowser, type HiddenCapableBrowser } from './hidden-browser';

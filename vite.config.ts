import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Headers on every page and file `vite preview` serves (so `npm start`, `npm run swarm` and the e2e stack,
 * which serve through it). The pages run only their own scripts, workers and WebAssembly: 'wasm-unsafe-eval'
 * is what WebAssembly.instantiate needs for TF.js's wasm backend, nothing else is evaluated; blob: workers
 * are the page's own (packages/net worker-clock.ts builds its timer worker from a string it ships). connect-src
 * allows ws:/wss: because the signalling server is another origin whose host comes from the URL
 * (`signal=`); WebRTC data channels are not governed by CSP. docs/security.md "Page headers".
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': [
    "default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self' blob:", "connect-src 'self' ws: wss:",
    "img-src 'self' data:", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};

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
  preview: { headers: SECURITY_HEADERS },
  test: {
    root: import.meta.dirname,
    // e2e/*.test.ts: pure helpers of the browser tools; the Playwright specs there are *.spec.ts.
    include: ['packages/**/src/**/*.test.ts', 'apps/**/src/**/*.test.ts', 'e2e/*.test.ts'],
    // Property and fuzz tests run thousands of cases; 2-core CI machines need headroom.
    testTimeout: 60_000,
  },
});

/**
 * Where the TF.js WASM binaries are served from. Vite sees the `?url` imports, copies each .wasm into
 * the build output (assets/ with a content hash) and replaces the import with its URL; in dev it serves
 * them from node_modules. Only the SIMD, single-threaded binary is ever loaded (see backends.ts), but
 * setWasmPaths insists on a complete map, so all three are listed.
 * Loaded lazily (dynamic import from backends.ts) so nothing but the wasm path pays for it.
 */
import plainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** Absolute, so the result does not depend on which chunk (worker or page) emscripten resolves it from. */
const absolute = (u: string): string => new URL(u, import.meta.url).href;

export const WASM_FILES = {
  'tfjs-backend-wasm.wasm': absolute(plainUrl),
  'tfjs-backend-wasm-simd.wasm': absolute(simdUrl),
  'tfjs-backend-wasm-threaded-simd.wasm': absolute(threadedUrl),
};

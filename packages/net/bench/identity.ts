/**
 * `npm run bench`, the coordinator's identity (docs/security.md §2): what signing every frame costs the
 * coordinator and checking it costs a learner, with the same WebCrypto Ed25519 calls the pages make (here
 * Node's). Frame sizes: an ack or pull, a digits-MLP int8 broadcast of one of two fragments, a digits
 * snapshot, and a text-GPT snapshot. Median of 25 after a warm-up. Written to reports/bench/identity.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { MAGIC0, MAGIC1, openSigned, PROTOCOL_VERSION, TYPE_CODES } from '@tabswarm/core';
import { coordinatorSigner, generateCoordinatorKey, pinCoordinator } from '../src/identity';

const SIZES: Array<[string, number]> = [['ack / pull', 32], ['broadcast, int8, digits', 51_000], ['snapshot, digits', 407_000], ['snapshot, text GPT', 7_300_000]];
const REPS = 25;

async function medianMs(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[REPS >> 1]!;
}

const signer = await coordinatorSigner(await generateCoordinatorKey());
const rows = [];
for (const [what, bytes] of SIZES) {
  // A frame is any encoded message: a pull's header (this protocol's version) padded to the size is enough for sign and verify.
  const frame = new Uint8Array(bytes);
  frame.set([MAGIC0, MAGIC1, PROTOCOL_VERSION, TYPE_CODES.pull]);
  const sealed = await signer.seal(frame);
  const pin = pinCoordinator(signer.fingerprint);
  const signMs = await medianMs(() => signer.seal(frame));
  const verifyMs = await medianMs(() => openSigned(sealed, pin));
  rows.push({ frame: what, bytes, signMs, verifyMs, overheadBytes: sealed.length - frame.length });
}
mkdirSync('reports/bench', { recursive: true });
writeFileSync('reports/bench/identity.json', JSON.stringify({ rows }, null, 2));
console.log('\ncoordinator identity: Ed25519 per frame (median ms)');
for (const r of rows) console.log(`  ${r.frame.padEnd(26)} ${String(r.bytes).padStart(9)} B  sign ${r.signMs.toFixed(3)} ms  verify ${r.verifyMs.toFixed(3)} ms  +${r.overheadBytes} B`);

/**
 * A goodbye frame, sent best-effort just before a side closes the link on purpose, so the other side
 * learns WHY (PeerJS `close` carries no reason). It matters most for 'replaced': a learner tab that
 * receives it knows another live tab took over its learner id and must not fight back by reconnecting.
 *
 * Frame: u16 magic BYE_MAGIC, u8 length n (1–64), n bytes of reason in [a-z0-9-]; little-endian.
 */
export const BYE_MAGIC = 0x5442; // "BT" read little-endian: tabswarm bye
const REASON = /^[a-z0-9-]{1,64}$/;

export function byeFrame(reason: string): Uint8Array<ArrayBuffer> | undefined {
  if (!REASON.test(reason)) return undefined; // free-form reasons stay local
  const f = new Uint8Array(3 + reason.length);
  new DataView(f.buffer).setUint16(0, BYE_MAGIC, true);
  f[2] = reason.length;
  for (let i = 0; i < reason.length; i++) f[3 + i] = reason.charCodeAt(i);
  return f;
}

/** The reason in a bye frame (magic already matched), or undefined when malformed. */
export function readBye(frame: Uint8Array): string | undefined {
  if (frame.length < 4 || frame[2] !== frame.length - 3) return undefined;
  const reason = String.fromCharCode(...frame.subarray(3));
  return REASON.test(reason) ? reason : undefined;
}

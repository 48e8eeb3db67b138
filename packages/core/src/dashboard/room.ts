/**
 * The room code a class reads off the projector and checks on each learner page: a short, stable name
 * for a run id. Both pages derive it from the run id (the join URL carries the run id), so no server
 * keeps a directory of rooms. 5 capital letters without I and O (read as 1 and 0 on a projector):
 * 24⁵ ≈ 8.0M codes, so n runs on one signalling server share a code with probability ≈ n²/16M.
 */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
export const ROOM_CODE_LENGTH = 5;

export function roomCode(runId: string): string {
  if (runId.length === 0) throw new Error('roomCode: empty run id');
  // FNV-1a over the UTF-16 code units, then xorshift32 per letter so similar ids differ in every letter.
  let h = 0x811c9dc5;
  for (let i = 0; i < runId.length; i++) h = Math.imul(h ^ runId.charCodeAt(i), 0x01000193) >>> 0;
  let code = '';
  for (let i = 0; i < ROOM_CODE_LENGTH; i++) {
    h ^= h << 13; h ^= h >>> 17; h ^= h << 5; h >>>= 0;
    code += ALPHABET[h % ALPHABET.length];
  }
  return code;
}

/** Read and check the 4-byte frame header without touching the body (for routing and metrics). */
import { fail, ok } from '../result';
import type { Result } from '../result';
import { HEADER_BYTES, MAGIC0, MAGIC1, PROTOCOL_VERSION, typeFromCode } from './messages';
import type { MessageType } from './messages';

export interface Header {
  version: number;
  type: MessageType;
}

/** `truncated` below 4 bytes, then `bad-magic`, `bad-version`, `unknown-type`. Never throws. */
export function peekHeader(bytes: Uint8Array): Result<Header> {
  if (bytes.length < HEADER_BYTES) return fail('truncated', `frame of ${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  if (bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1) return fail('bad-magic', `magic bytes ${bytes[0]} ${bytes[1]}`);
  const version = bytes[2] ?? 0;
  if (version !== PROTOCOL_VERSION) return fail('bad-version', `version ${version}, we speak ${PROTOCOL_VERSION}`);
  const code = bytes[3] ?? 0;
  const type = typeFromCode(code);
  if (type === null) return fail('unknown-type', `type byte ${code}`);
  return ok({ version, type });
}

/**
 * Receiver-side size limits. Every length field is checked against its limit before anything is
 * allocated, and the whole frame against `maxBytes` before anything is read, so a hostile length can
 * never make the decoder allocate more than the caller allowed. Callers should pass tighter limits
 * per direction (e.g. the syncer knows the real P and the largest fragment).
 */
export interface Limits {
  /** Largest whole frame, in bytes. */
  maxBytes: number;
  /** Largest fragment count (versions, cSteps, cTokens lengths); fragment indices must be below it. */
  maxFragments: number;
  /** Largest float array (snapshot params, broadcast values), in elements. */
  maxParams: number;
  /** Largest push payload, in bytes. */
  maxPayload: number;
}

/** 16 Mi params (64 MiB of fp32) plus headroom for the header and the per-fragment arrays. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBytes: 4 * (1 << 24) + (1 << 16),
  maxFragments: 1024,
  maxParams: 1 << 24,
  maxPayload: 1 << 24,
});

/** No size limits: used by the encoder, which checks value ranges but not receiver policy. */
export const NO_LIMITS: Readonly<Limits> = Object.freeze({
  maxBytes: Infinity,
  maxFragments: Infinity,
  maxParams: Infinity,
  maxPayload: Infinity,
});

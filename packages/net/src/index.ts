/**
 * @tabswarm/net: the browser transport. The only package that imports PeerJS (lazily, in
 * peerjs-adapter.ts). Pages use hostCoordinator / connectLearner; the rest is exported for tests,
 * tools and diagnostics. The Node signalling server lives in ../server (not exported here).
 */
export { DEFAULT_MAX_BUFFERED_TOTAL_BYTES, hostCoordinator } from './coordinator-host';
export type { BroadcastResult, CoordinatorHost, CoordinatorOptions, CoordinatorStats, LearnerConnection, SignallingState } from './coordinator-host';
export { connectLearner } from './learner-link';
export type { LearnerLink, LearnerLinkOptions, LearnerLinkState, LearnerLinkStats, LifecycleTarget } from './learner-link';
export { Channel } from './channel';
export { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TUNING } from './channel-tuning';
export type { ChannelOptions } from './channel';
export type { ChannelStats, ChannelTuning } from './channel-tuning';
export { CHUNK_HEADER_BYTES, CHUNK_MAGIC, DEFAULT_CHUNK_BYTES, MAX_FRAME_BYTES, chunkCount, chunkFrames, readChunkHeader } from './chunk';
export type { ChunkHeader, FrameRefusal, Refusal } from './chunk';
export { mbpsToBytesPerMs, parseLinkMbps, TokenBucket } from './rate-limit';
export { Reassembler, makeLimits } from './reassembler';
export type { PushResult, ReassemblerLimits, SharedPool } from './reassembler';
export { ReassemblyPool, fairShare } from './reassembly-pool';
export type { PoolHolder } from './reassembly-pool';
export { DEFAULT_HEARTBEAT, HEARTBEAT_MAGIC, Heartbeat, heartbeatFrame } from './heartbeat';
export type { HeartbeatOptions } from './heartbeat';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff';
export type { BackoffOptions } from './backoff';
export { systemClock } from './clock';
export { pageClock, workerClock } from './worker-clock';
export type { Clock, TimerHandle } from './clock';
export { NET_ERROR_CODES, NetError } from './errors';
export type { NetErrorCode } from './errors';
export { COORDINATOR_ID_PREFIX, LEARNER_ID_PATTERN, SESSION_SECRET_PATTERN, coordinatorPeerId, isValidLearnerId, isValidPeerId, isValidSessionSecret, learnerPeerId, randomToken } from './ids';
export { coordinatorSigner, FINGERPRINT_PATTERN, fingerprint, generateCoordinatorKey, pinCoordinator } from './identity';
export type { CoordinatorSigner, LearnerPin, PinMemory } from './identity';
export { createPeerJs } from './peerjs-adapter';
export type { ConnectionHandle, DataChannelLike, PeerFactory, PeerHandle, PeerInit, RawConnection, SignalConfig } from './transport';

import { fullPrecision, type Downlink } from '../downlink';
import type { BroadcastHead } from '../protocol';
import type { SyncCommand } from './events';
import type { DownlinkUpdate } from './merge-round';

/**
 * A commit's broadcasts to the connected learners `to`: the quantised outer update to those whose last
 * META holds its base version, full values to the rest (unknown, behind, just joined). A stale META costs
 * a full copy that was not needed; an update that still misses (a META from before a reload, reordered
 * messages) is refused by the learner as 'stale-base'; its META then still names the older version, so
 * the fragment's next commit reaches it as a full copy.
 */
export function commitBroadcasts(
  head: BroadcastHead, to: readonly string[], holds: (id: string) => number,
  values: Float32Array, update: DownlinkUpdate | null, downlink: Downlink,
): SyncCommand[] {
  const holdsBase = (id: string): boolean => update !== null && holds(id) === update.baseVersion;
  const deltaTo = to.filter(holdsBase), fullTo = to.filter((id) => !holdsBase(id));
  const out: SyncCommand[] = [];
  if (update && deltaTo.length > 0) out.push({ kind: 'broadcast', to: deltaTo, msg: { ...head, precision: 'delta', ...update } });
  // With nobody to send to, the empty full broadcast still goes out (as before the delta downlink), so
  // the driver's 'synced' for this round always comes; with two broadcasts the first one sets ξ_sync.
  if (fullTo.length > 0 || deltaTo.length === 0) out.push({ kind: 'broadcast', to: fullTo, msg: { ...head, precision: fullPrecision(downlink), values } });
  return out;
}

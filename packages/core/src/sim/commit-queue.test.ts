import { describe, expect, it } from 'vitest';
import type { Message } from '../protocol';
import type { SyncCommand } from '../syncer/events';
import { CommitQueue } from './commit-queue';

const commit = { kind: 'commit' } as unknown as SyncCommand; // the queue reads only the kind of a commit
const send = (msg: Message): SyncCommand => ({ kind: 'send', to: 'a', msg });
const ack = send({ type: 'ack' } as Message);
const pull = send({ type: 'pull' } as Message);
const broadcastPull: SyncCommand = { kind: 'broadcast', to: ['a', 'b'], msg: { type: 'pull' } as Message };
const broadcast: SyncCommand = { kind: 'broadcast', to: ['a', 'b'], msg: { type: 'broadcast' } as Message };

describe('commit queue (write-ahead order)', () => {
  // Hand-worked: commits of 40 and 30 ms issued at 0 and 20 complete at 40 and 70 (the second starts
  // when the first ends); everything but a pull issued before 70 runs at the latest completion before it.
  it('holds every command but a pull behind the commits issued before it', () => {
    const durations = [40, 30];
    const q = new CommitQueue(() => durations.shift()!);
    expect(q.runsAt(commit, 0)).toBe(40);
    expect(q.runsAt(ack, 10)).toBe(40);
    expect(q.runsAt(pull, 10)).toBe(10);
    expect(q.runsAt(broadcastPull, 15)).toBe(15);
    expect(q.runsAt(commit, 20)).toBe(70);
    expect(q.runsAt(broadcast, 30)).toBe(70);
    expect(q.runsAt({ kind: 'drop', id: 'a', reason: 'silent' }, 69)).toBe(70);
    expect(q.runsAt(ack, 80)).toBe(80);
  });

  it('runs everything at once when commits are instant', () => {
    const q = new CommitQueue(() => 0);
    expect([q.runsAt(commit, 5), q.runsAt(ack, 5), q.runsAt(pull, 6)]).toEqual([5, 5, 6]);
  });
});

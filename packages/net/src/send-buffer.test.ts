/** The send-buffer cap (../server/send-buffer.ts) on a fake socket whose client never reads. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { capSendBuffer } from '../server/send-buffer';

/** Every send stays buffered (the client does not read) unless `drain` empties it. */
class FakeSocket extends EventEmitter {
  bufferedAmount = 0;
  written = 0;
  terminated = 0;
  send(data: string): void {
    this.bufferedAmount += data.length;
    this.written++;
  }
  terminate(): void {
    this.terminated++;
  }
  drain(): void {
    this.bufferedAmount = 0;
  }
}

const FRAME = 'x'.repeat(1000);

describe('capSendBuffer', () => {
  it('stops writing to a socket that does not read and closes it once, past the cap', () => {
    const s = new FakeSocket();
    let cuts = 0;
    capSendBuffer(s, 10_000, () => cuts++);
    for (let i = 0; i < 1000; i++) s.send(FRAME);
    // Before: all 1000 frames (1 MB) were buffered for a client that reads nothing.
    expect(s.written).toBe(11); // 11,000 bytes: the 12th send found more than the cap and closed it
    expect(s.bufferedAmount).toBeLessThanOrEqual(10_000 + FRAME.length);
    expect(s.terminated).toBe(1);
    expect(cuts).toBe(1);
  });

  it('never cuts a socket that reads, however much passes through it', () => {
    const s = new FakeSocket();
    let cuts = 0;
    capSendBuffer(s, 10_000, () => cuts++);
    for (let i = 0; i < 1000; i++) {
      s.send(FRAME);
      if (i % 5 === 4) s.drain();
    }
    expect(s.written).toBe(1000);
    expect(s.terminated + cuts).toBe(0);
  });

  it('closes a socket past the cap on a ping too (ws answers pings outside send)', () => {
    const s = new FakeSocket();
    let cuts = 0;
    capSendBuffer(s, 10_000, () => cuts++);
    s.emit('ping');
    expect(s.terminated).toBe(0);
    s.bufferedAmount = 10_001; // pongs queued for a client that pings but does not read
    s.emit('ping');
    expect(s.terminated).toBe(1);
    expect(cuts).toBe(1);
  });
});

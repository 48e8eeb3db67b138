/**
 * An in-memory PeerJS stand-in for unit tests: a "signalling server" registry of ids, and connection
 * pairs whose data channels deliver frames in order, asynchronously, like the real thing. Links can be
 * frozen (a crashed tab: frames and close stop flowing) to exercise heartbeats.
 */
import type { ConnectionHandle, DataChannelLike, PeerErrorHandler, PeerFactory, PeerHandle, PeerInit } from '../src/transport';

type Fn<A extends unknown[] = []> = (...a: A) => void;

export class FakeNetwork {
  readonly peers = new Map<string, FakePeer>();
  /** When false, new peers never get `open` (signalling server unreachable and silent). */
  signallingUp = true;
  /** Every peer ever created, in order. */
  readonly created: FakePeer[] = [];
  /** Serialization/reliability that connect() asks for (tests can simulate a hostile learner). */
  connectOptions = { serialization: 'raw', reliable: true };

  readonly factory: PeerFactory = async (id: string, init: PeerInit) => {
    const p = new FakePeer(this, id, init);
    this.created.push(p);
    queueMicrotask(() => p.register());
    return p;
  };
}

export class FakePeer implements PeerHandle {
  open = false;
  disconnected = false;
  destroyed = false;
  readonly conns: FakeConn[] = [];
  private readonly ls = { open: [] as Fn<[string]>[], connection: [] as Fn<[ConnectionHandle]>[], disconnected: [] as Fn[], close: [] as Fn[], error: [] as PeerErrorHandler[] };

  constructor(readonly net: FakeNetwork, readonly id: string, readonly init: PeerInit) {}

  register(): void {
    if (this.destroyed || !this.net.signallingUp) return;
    if (this.net.peers.has(this.id)) return this.error('unavailable-id', `ID "${this.id}" is taken`);
    this.net.peers.set(this.id, this);
    this.open = true;
    this.disconnected = false;
    for (const f of this.ls.open) f(this.id);
  }

  error(type: string, message: string): void {
    for (const f of this.ls.error) f(type, message);
  }

  onOpen(fn: Fn<[string]>): void { this.ls.open.push(fn); }
  onConnection(fn: Fn<[ConnectionHandle]>): void { this.ls.connection.push(fn); }
  onDisconnected(fn: Fn): void { this.ls.disconnected.push(fn); }
  onClose(fn: Fn): void { this.ls.close.push(fn); }
  onError(fn: PeerErrorHandler): void { this.ls.error.push(fn); }

  connect(peerId: string, metadata: unknown): ConnectionHandle {
    const mine = new FakeConn(this.id, metadata, this.net.connectOptions);
    this.conns.push(mine);
    queueMicrotask(() => {
      const target = this.net.peers.get(peerId);
      if (!target || !target.open) return this.error('peer-unavailable', `Could not connect to peer ${peerId}`);
      const theirs = new FakeConn(this.id, metadata, this.net.connectOptions);
      theirs.remotePeer = this.id;
      mine.remotePeer = peerId;
      mine.other = theirs;
      theirs.other = mine;
      target.conns.push(theirs);
      for (const f of target.ls.connection) f(theirs);
      queueMicrotask(() => { mine.markOpen(); theirs.markOpen(); });
    });
    return mine;
  }

  /** The signalling socket dropped (server restart). */
  dropSignalling(): void {
    if (this.disconnected) return;
    this.disconnect();
  }

  reconnect(): void {
    if (!this.disconnected || this.destroyed) throw new Error('cannot reconnect');
    this.disconnected = false;
    queueMicrotask(() => this.register());
  }

  disconnect(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.open = false;
    if (this.net.peers.get(this.id) === this) this.net.peers.delete(this.id);
    for (const f of this.ls.disconnected) f();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.disconnect();
    for (const c of this.conns) c.close();
    this.destroyed = true;
    for (const f of this.ls.close) f();
  }
}

export class FakeConn implements ConnectionHandle {
  static next = 0;
  readonly connectionId = `dc_${++FakeConn.next}`;
  remotePeer = '';
  other: FakeConn | undefined;
  open = false;
  frozen = false;
  closed = false;
  readonly serialization: string;
  readonly reliable: boolean;
  readonly dc = new FakeDataChannel(this);
  readonly sent: Uint8Array[] = [];
  private readonly ls = { open: [] as Fn[], data: [] as Fn<[unknown]>[], close: [] as Fn[], error: [] as Fn<[string, string]>[] };

  constructor(readonly origin: string, readonly metadata: unknown, o: { serialization: string; reliable: boolean }) {
    this.serialization = o.serialization;
    this.reliable = o.reliable;
  }

  get peer(): string { return this.remotePeer || this.origin; }
  get dataChannel(): DataChannelLike | null { return this.closed ? null : this.dc; }

  onOpen(fn: Fn): void { this.ls.open.push(fn); }
  onData(fn: Fn<[unknown]>): void { this.ls.data.push(fn); }
  onClose(fn: Fn): void { this.ls.close.push(fn); }
  onError(fn: Fn<[string, string]>): void { this.ls.error.push(fn); }

  markOpen(): void {
    if (this.closed || this.open) return;
    this.open = true;
    this.dc.readyState = 'open';
    for (const f of this.ls.open) f();
  }

  /** Delivers raw data as PeerJS 'data' would (tests may inject anything). */
  deliver(data: unknown): void {
    if (this.closed || this.frozen) return;
    for (const f of this.ls.data) f(data);
  }

  /** A crashed tab: nothing flows either way and no close is ever seen by the other side. */
  freeze(): void {
    this.frozen = true;
    if (this.other) this.other.frozen = true;
  }

  close(): void {
    if (this.closed) return;
    const wasOpen = this.open;
    this.closed = true;
    this.open = false;
    this.dc.readyState = 'closed';
    this.dc.fire('close');
    if (wasOpen) for (const f of this.ls.close) f();
    const other = this.other;
    if (other && !this.frozen) queueMicrotask(() => other.close());
  }
}

export class FakeDataChannel implements DataChannelLike {
  readyState = 'connecting';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  private readonly ls = new Map<string, Set<Fn>>();

  constructor(private readonly conn: FakeConn) {}

  send(data: Uint8Array<ArrayBuffer>): void {
    if (this.readyState !== 'open') throw new Error(`InvalidStateError: channel is ${this.readyState}`);
    if (data.byteLength > 256 * 1024) throw new TypeError('Message too large');
    this.conn.sent.push(data);
    const copy = data.slice().buffer; // what arrives is a fresh ArrayBuffer, as with binaryType 'arraybuffer'
    const other = this.conn.other;
    if (other && !this.conn.frozen) queueMicrotask(() => other.deliver(copy));
  }

  addEventListener(type: string, fn: Fn): void {
    let s = this.ls.get(type);
    if (!s) this.ls.set(type, (s = new Set()));
    s.add(fn);
  }

  removeEventListener(type: string, fn: Fn): void {
    this.ls.get(type)?.delete(fn);
  }

  fire(type: string): void {
    for (const f of [...(this.ls.get(type) ?? [])]) f();
  }

  listenerCount(type: string): number {
    return this.ls.get(type)?.size ?? 0;
  }
}

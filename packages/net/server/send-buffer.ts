/**
 * A bound on what the server holds for a client that does not read. peer 1.0.2 writes every message
 * for an online id straight into its socket (ws buffers without limit), so a client that stops reading
 * its TCP socket made the server hold whatever its other sockets sent it: up to 64 MiB/s per address
 * within the message gate (docs/security.md "Signalling"). No timers; the socket is injected.
 */

/**
 * The default cap, in bytes. A join sends the coordinator ≈5 KB (OFFER and CANDIDATEs), so 256 learners
 * joining within one second put ≈1.3 MB in its socket even if it read nothing that second: 2 MiB never
 * cuts off a coordinator that reads, and a socket that stopped reading costs at most this, not 64 MiB
 * more every second.
 */
export const MAX_SEND_BUFFER_BYTES = 2 << 20;

/** The part of a ws WebSocket this needs. */
export interface BufferedSocket {
  /** Bytes queued in user space and not yet handed to the kernel (ws: writable state + sender queue). */
  readonly bufferedAmount: number;
  send(data: never, ...rest: never[]): void;
  terminate(): void;
  on(event: 'ping', listener: () => void): unknown;
}

/**
 * Closes `socket` (terminate: its buffer is freed at once) as soon as it holds more than `maxBytes`
 * unsent, dropping the message that found it so; `onCut` runs once. A client past the cap has stopped
 * reading, it does not come back, and a page that is reading never gets near the cap, so no message is
 * held back for later. The server holds at most `maxBytes` plus one frame for a socket. ws answers a
 * client's pings itself, outside send(), so every ping checks the cap too.
 */
export function capSendBuffer(socket: BufferedSocket, maxBytes: number, onCut: () => void): void {
  let cut = false;
  const over = (): boolean => {
    if (!cut && socket.bufferedAmount > maxBytes) {
      cut = true;
      onCut();
      socket.terminate();
    }
    return cut;
  };
  const send = socket.send.bind(socket) as (...args: unknown[]) => void;
  socket.send = ((...args: unknown[]): void => {
    if (!over()) send(...args);
  }) as typeof socket.send;
  socket.on('ping', over);
}

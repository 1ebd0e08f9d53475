// Messages between the host and a sandbox process, as length-prefixed frames on a socket: a small
// JSON header and at most one text field sent apart as raw UTF-8 (the payload, the envelope…), so
// a 2 KB payload is not escaped into a second JSON string as Node's IPC channel would do.
//
// `spin` waits for a message synchronously, for a bounded time. A process that expects a message
// within microseconds takes it without going to sleep: on a virtual machine whose idle CPUs halt (no
// guest halt-polling, as on these machines) a sleeping reader's wake-up costs 60–80 µs per message,
// and the writer pays for the wake-up too. Measured round trip of a 2 KB message here: 120–190 µs
// with both sides asleep, ~32 µs with both spinning. While spinning, a reader watches a doorbell —
// a counter in a small shared file the writer bumps after each frame — rather than trying to read
// the socket: a read that finds nothing costs ~9 µs in Node (it throws EAGAIN), a look at the
// doorbell ~1.3 µs.
import { closeSync, existsSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Frame prefix: header length, body length (NO_BODY: none). */
const PREFIX = 8;
const NO_BODY = 0xffffffff;
/** Read buffer of a spin. */
const SCRATCH = Buffer.allocUnsafe(64 * 1024);

type Message = { type: string } & Record<string, unknown>;

/** Two frame counters in a shared file: one each side rings, one each side watches. */
export class Doorbell {
  readonly #fd: number;
  readonly #ringAt: number;
  readonly #watchAt: number;
  readonly #out = Buffer.alloc(4);
  readonly #in = Buffer.alloc(4);
  #rung = 0;
  #seen = 0;
  #closed = false;

  private constructor(fd: number, ringAt: number, watchAt: number) {
    this.#fd = fd;
    this.#ringAt = ringAt;
    this.#watchAt = watchAt;
  }

  /** The host's side, in a new private file (tmpfs when there is one); the path goes to the sandbox. */
  static create(): { bell: Doorbell; path: string } {
    const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const path = join(dir, `plexus-sandbox-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fd = openSync(path, 'wx+', 0o600);
    writeSync(fd, Buffer.alloc(8), 0, 8, 0);
    return { bell: new Doorbell(fd, 0, 4), path };
  }

  /** The sandbox's side of a file made by `create`. */
  static open(path: string): Doorbell {
    return new Doorbell(openSync(path, 'r+'), 4, 0);
  }

  ring(): void {
    if (this.#closed) return;
    this.#out.writeUInt32LE((this.#rung = (this.#rung + 1) >>> 0), 0);
    writeSync(this.#fd, this.#out, 0, 4, this.#ringAt);
  }

  /** Whether the other side rang since the last look. */
  rang(): boolean {
    if (this.#closed) return false;
    readSync(this.#fd, this.#in, 0, 4, this.#watchAt);
    const value = this.#in.readUInt32LE(0);
    if (value === this.#seen) return false;
    this.#seen = value;
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      closeSync(this.#fd);
    } catch {
      // closed already
    }
  }
}

/** Removes a doorbell file once both sides have it open (or the sandbox is gone). */
export function removeDoorbellFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // removed already
  }
}

export class FrameChannel<In extends { type: string }> {
  readonly #socket: Socket;
  readonly #fd: number;
  readonly #onMessage: (msg: In) => void;
  #pending: Buffer | undefined;
  /** Set when both sides have one: frames ring it, `spin` watches it. */
  doorbell: Doorbell | undefined;

  /**
   * `fd`: the socket's descriptor, for `spin` (-1: no spinning). `bodyFields`: per message type,
   * the field sent as the body (a top-level name or `outer.inner`).
   */
  constructor(
    socket: Socket,
    fd: number,
    readonly bodyFields: Record<string, string>,
    onMessage: (msg: In) => void,
  ) {
    this.#socket = socket;
    this.#fd = fd;
    this.#onMessage = onMessage;
    socket.on('data', (chunk: Buffer) => this.#feed(chunk));
    socket.on('close', () => this.doorbell?.close());
  }

  /** `ring`: bump the doorbell too (only needed when the other side may be waiting awake). */
  send(message: { type: string }, ring = true): void {
    // libuv writes at once when nothing is queued before it (no event-loop turn needed).
    this.#socket.write(this.#frame(message));
    if (ring) this.doorbell?.ring();
  }

  #frame(message: { type: string }): Buffer {
    const msg = message as Message;
    const [outer, inner] = this.bodyFields[msg.type]?.split('.') ?? [];
    let body: string | undefined;
    let header: unknown = msg;
    // The header leaves the body field out (undefined values are not serialised).
    if (outer !== undefined && inner === undefined && typeof msg[outer] === 'string') {
      body = msg[outer] as string;
      header = { ...msg, [outer]: undefined };
    } else if (outer !== undefined && inner !== undefined) {
      const holder = msg[outer] as Record<string, unknown> | undefined;
      if (holder && typeof holder[inner] === 'string') {
        body = holder[inner] as string;
        header = { ...msg, [outer]: { ...holder, [inner]: undefined } };
      }
    }
    const headerText = JSON.stringify(header);
    const headerBytes = Buffer.byteLength(headerText);
    const bodyBytes = body === undefined ? 0 : Buffer.byteLength(body);
    const frame = Buffer.allocUnsafe(PREFIX + headerBytes + bodyBytes);
    frame.writeUInt32LE(headerBytes, 0);
    frame.writeUInt32LE(body === undefined ? NO_BODY : bodyBytes, 4);
    frame.write(headerText, PREFIX, 'utf8');
    if (body !== undefined) frame.write(body, PREFIX + headerBytes, 'utf8');
    return frame;
  }

  /**
   * Reads the socket synchronously until `done()` or `budgetMicros` have passed, delivering what
   * arrives. Does nothing while the stream itself holds unread data (its order comes first).
   */
  spin(budgetMicros: number, done: () => boolean): void {
    const bell = this.doorbell;
    if (this.#fd < 0 || budgetMicros <= 0 || !bell) return;
    const end = performance.now() + budgetMicros / 1000;
    // A frame that came while nobody looked has rung the bell since the last look.
    let look = false;
    while (!done() && this.#socket.readableLength === 0 && !this.#socket.destroyed) {
      if (!look && !bell.rang()) {
        if (performance.now() >= end) return;
        continue;
      }
      look = false;
      let n: number;
      try {
        n = readSync(this.#fd, SCRATCH, 0, SCRATCH.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
        // Rung before the data could be read (a write libuv had to queue): look again.
        look = bell.rang() || look;
        if (performance.now() >= end) return;
        continue;
      }
      // More may follow in the same frame.
      look = true;
      // 0: the other end closed; the stream reports it.
      if (n === 0) return;
      this.#feed(Buffer.from(SCRATCH.subarray(0, n)));
    }
  }

  #feed(chunk: Buffer): void {
    let buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    let offset = 0;
    while (buf.length - offset >= PREFIX) {
      const headerBytes = buf.readUInt32LE(offset);
      const rawBody = buf.readUInt32LE(offset + 4);
      const bodyBytes = rawBody === NO_BODY ? 0 : rawBody;
      const end = offset + PREFIX + headerBytes + bodyBytes;
      if (buf.length < end) break;
      const msg = JSON.parse(buf.toString('utf8', offset + PREFIX, offset + PREFIX + headerBytes)) as Message;
      if (rawBody !== NO_BODY) {
        const field = this.bodyFields[msg.type];
        const body = buf.toString('utf8', offset + PREFIX + headerBytes, end);
        const [outer, inner] = field?.split('.') ?? [];
        if (outer !== undefined && inner === undefined) msg[outer] = body;
        else if (outer !== undefined && inner !== undefined) ((msg[outer] ??= {}) as Record<string, unknown>)[inner] = body;
      }
      offset = end;
      this.#onMessage(msg as unknown as In);
    }
    if (offset < buf.length) this.#pending = buf.subarray(offset);
  }
}

/** The descriptor behind a socket made by Node for a child's stdio pipe (-1 when unknown). */
export function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/** The body field of each sandbox message (remote-sandbox.ts's ToSandbox and FromSandbox, and the init). */
export const SANDBOX_FRAME_BODIES: Record<string, string> = {
  init: 'configJson',
  run: 'payload',
  check: 'source',
  hostReply: 'result',
  host: 'argsJson',
  done: 'outcome.envelope',
};

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Doorbell, FrameChannel, SANDBOX_FRAME_BODIES, removeDoorbellFile, socketFd } from '../../src/scripting/engines/frame-channel.js';
import { createScriptRunner } from '../../src/scripting/script-runner.js';

type Msg = { type: string } & Record<string, unknown>;

/** Two connected sockets in this process (a Unix socket, as a sandbox's fd 3 is). */
async function socketPair(): Promise<{ a: net.Socket; b: net.Socket; close: () => void }> {
  const path = join(mkdtempSync(join(tmpdir(), 'plexus-frames-')), 's.sock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const a = net.connect(path);
  await new Promise<void>((resolve) => a.once('connect', () => resolve()));
  const b = await accepted;
  return {
    a,
    b,
    close: () => {
      a.destroy();
      b.destroy();
      server.close();
    },
  };
}

test('frames carry the header and the body field apart, whole, in order, across split and merged chunks', async () => {
  const { a, b, close } = await socketPair();
  try {
    const got: Msg[] = [];
    const sender = new FrameChannel<Msg>(a, -1, SANDBOX_FRAME_BODIES, () => undefined);
    // The receiver is fed by hand here, one byte at a time, then all at once.
    const receiver = new FrameChannel<Msg>(b, -1, SANDBOX_FRAME_BODIES, (m) => got.push(m));
    const payload = JSON.stringify({ text: 'quotes " and \\ backslashes, ünïcödé ✓, `ticks`', n: 1 });
    const sent: Msg[] = [
      { type: 'run', id: 1, key: 'k', payload, deadline: 5, async: false },
      { type: 'done', id: 1, outcome: { kind: 'done', envelope: '{"r":{"ok":true}}' }, dropped: ['x'], recycle: false },
      { type: 'done', id: 2, outcome: { kind: 'timeout' }, dropped: [], recycle: true },
      { type: 'ready' },
      { type: 'hostReply', seq: 3, result: '' },
    ];
    const bytes: Buffer[] = [];
    a.write = ((chunk: Buffer) => (bytes.push(chunk), true)) as typeof a.write;
    for (const m of sent) sender.send(m);
    const all = Buffer.concat(bytes);
    for (let i = 0; i < all.length; i++) b.emit('data', all.subarray(i, i + 1));
    b.emit('data', all);
    assert.deepEqual(got, [...sent, ...sent]);
    // The body did not travel inside the header (no second JSON escaping).
    assert.equal(all.toString('utf8').split(payload).length, 2);
  } finally {
    close();
  }
});

test('spin takes a frame as soon as the doorbell rings, and gives up after its budget', async () => {
  const { a, b, close } = await socketPair();
  const { bell, path } = Doorbell.create();
  const other = Doorbell.open(path);
  removeDoorbellFile(path);
  assert.equal(existsSync(path), false, 'both sides keep the file open after it is removed');
  try {
    const got: Msg[] = [];
    const sender = new FrameChannel<Msg>(a, socketFd(a), SANDBOX_FRAME_BODIES, () => undefined);
    sender.doorbell = bell;
    const receiver = new FrameChannel<Msg>(b, socketFd(b), SANDBOX_FRAME_BODIES, (m) => got.push(m));
    receiver.doorbell = other;
    assert.ok(socketFd(b) >= 0);

    // Nothing sent: the spin ends after its budget.
    const t = performance.now();
    receiver.spin(3_000, () => got.length > 0);
    assert.ok(performance.now() - t >= 3, 'spun for its budget');
    assert.equal(got.length, 0);

    // Sent: taken synchronously, without an event-loop turn.
    sender.send({ type: 'check', id: 7, source: 'function x() {}' } as Msg);
    receiver.spin(1_000_000, () => got.length > 0);
    assert.deepEqual(got, [{ type: 'check', id: 7, source: 'function x() {}' }]);

    // No doorbell, or no budget: no spinning at all.
    const plain = new FrameChannel<Msg>(b, socketFd(b), SANDBOX_FRAME_BODIES, () => undefined);
    const t2 = performance.now();
    plain.spin(50_000, () => false);
    receiver.spin(0, () => false);
    assert.ok(performance.now() - t2 < 40);
  } finally {
    bell.close();
    other.close();
    close();
  }
});

test('PLEXUS_SCRIPT_SPIN_US must be a number of microseconds', async () => {
  const before = process.env.PLEXUS_SCRIPT_SPIN_US;
  process.env.PLEXUS_SCRIPT_SPIN_US = 'fast';
  try {
    await assert.rejects(createScriptRunner({ logger: null }), /PLEXUS_SCRIPT_SPIN_US must be a number of microseconds ≥ 0; got fast/);
  } finally {
    if (before === undefined) delete process.env.PLEXUS_SCRIPT_SPIN_US;
    else process.env.PLEXUS_SCRIPT_SPIN_US = before;
  }
});

test('scripts give the same results whether the host waits awake for the sandbox or not', async () => {
  for (const spinMicros of [0, 500]) {
    const runner = await createScriptRunner({ logger: null, spinMicros, engine: 'isolated-vm' });
    try {
      for (let i = 0; i < 20; i++) {
        const r = await runner.runEvent({
          event: 'before_action',
          isolationKey: 'frames/acc',
          sources: { method: 'function before_action() { method_request.n = method_request.n * 2; method_request.s += "✓"; return true }' },
          globals: { method_request: { n: i, s: 'a"b' } },
        });
        assert.deepEqual(r.result, { kind: 'ok' });
        assert.deepEqual(r.globals.method_request, { n: i * 2, s: 'a"b✓' });
      }
    } finally {
      await runner.dispose();
    }
  }
});

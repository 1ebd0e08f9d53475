// The pool's choice of sandbox: exclusive executions take an idle one; shared (pipelined) ones are
// packed onto a warm sandbox that is busy with quick executions, up to PIPELINE_DEPTH, before an
// idle one is woken; a sandbox whose oldest execution has run past PACK_WINDOW_MS is passed over.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PACK_WINDOW_MS, PIPELINE_DEPTH, SandboxPool } from '../../src/scripting/engines/sandbox-pool.js';

class Member {
  readonly keys = new Set<string>();
  constructor(readonly name: string) {}
  hasContext(key: string): boolean {
    return this.keys.has(key);
  }
}

/** Starts an execution on the pool and returns which member took it and how to finish it. */
function start(pool: SandboxPool<Member>, key: string, shared: boolean) {
  let finish!: () => void;
  let took: string | undefined;
  const done = pool.use(
    key,
    (m) => {
      took = m.name;
      m.keys.add(key);
      return new Promise<void>((resolve) => (finish = resolve));
    },
    shared,
  );
  return { took: () => took, finish: async () => { finish(); await done; } };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('SandboxPool', () => {
  it('packs shared executions onto the busy warm sandbox up to the pipeline depth, then wakes the idle one', async () => {
    let now = 0;
    const a = new Member('a');
    const b = new Member('b');
    const pool = new SandboxPool([a, b], () => now);
    const runs = [];
    for (let i = 0; i < PIPELINE_DEPTH + 1; i++) {
      runs.push(start(pool, 'k', true));
      await tick();
    }
    assert.deepEqual(runs.map((r) => r.took()), [...Array(PIPELINE_DEPTH).fill('a'), 'b']);
    for (const r of runs) await r.finish();
  });

  it('passes over a busy sandbox whose oldest execution has run longer than the pack window', async () => {
    let now = 0;
    const a = new Member('a');
    const b = new Member('b');
    const pool = new SandboxPool([a, b], () => now);
    const slow = start(pool, 'k', true);
    await tick();
    now += PACK_WINDOW_MS + 1;
    const next = start(pool, 'k', true);
    await tick();
    assert.equal(slow.took(), 'a');
    assert.equal(next.took(), 'b');
    await slow.finish();
    await next.finish();
  });

  it('gives an exclusive execution an idle sandbox, and queues it when none is idle', async () => {
    let now = 0;
    const a = new Member('a');
    const b = new Member('b');
    const pool = new SandboxPool([a, b], () => now);
    const shared = start(pool, 'k', true);
    await tick();
    const exclusive = start(pool, 'k', false);
    await tick();
    assert.equal(shared.took(), 'a');
    assert.equal(exclusive.took(), 'b', 'the idle sandbox, not the busy warm one');
    // Both busy: the next exclusive execution waits until one is free.
    const queued = start(pool, 'k', false);
    await tick();
    assert.equal(queued.took(), undefined);
    await shared.finish();
    await tick();
    assert.equal(queued.took(), 'a');
    // Nothing is shared with an exclusive execution.
    const another = start(pool, 'k', true);
    await tick();
    assert.equal(another.took(), undefined, 'both sandboxes hold an exclusive execution');
    await exclusive.finish();
    await tick();
    assert.equal(another.took(), 'b');
    await queued.finish();
    await another.finish();
  });

  it('prefers a sandbox warm for the key over a cold idle one', async () => {
    const a = new Member('a');
    const b = new Member('b');
    b.keys.add('k');
    const pool = new SandboxPool([a, b], () => 0);
    const r = start(pool, 'k', true);
    await tick();
    assert.equal(r.took(), 'b');
    await r.finish();
    const e = start(pool, 'other', false);
    await tick();
    assert.equal(e.took(), 'a');
    await e.finish();
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter, spacingMs } from '../../../src/runtime/http/rate-limiter.js';

/** A fake clock whose sleep records the wait and never blocks. */
function fakeClock(start = 0) {
  const clock = { t: start, sleeps: [] as number[] };
  const limiter = new RateLimiter({
    now: () => clock.t,
    sleep: async (ms) => {
      clock.sleeps.push(ms);
    },
  });
  return { clock, limiter };
}

test('spacingMs uses the stricter of requests per second and seconds between requests', () => {
  assert.equal(spacingMs({}), 0);
  assert.equal(spacingMs({ requestsPerSecond: 4 }), 250);
  assert.equal(spacingMs({ secondsBetweenRequests: 2 }), 2000);
  assert.equal(spacingMs({ requestsPerSecond: 10, secondsBetweenRequests: 0.5 }), 500);
  assert.equal(spacingMs({ requestsPerSecond: 0, secondsBetweenRequests: -1 }), 0);
});

test('concurrent calls on one key are spaced, never dropped', async () => {
  const { clock, limiter } = fakeClock(1000);
  const waits = await Promise.all([1, 2, 3, 4].map(() => limiter.acquire('ac-1', { requestsPerSecond: 2 })));
  assert.deepEqual(waits, [0, 500, 1000, 1500]);
  assert.deepEqual(clock.sleeps, [500, 1000, 1500]);
});

test('spacing continues from the last reserved slot and resets once the key is idle', async () => {
  const { clock, limiter } = fakeClock(0);
  assert.equal(await limiter.acquire('k', { secondsBetweenRequests: 3 }), 0);
  clock.t = 1000;
  assert.equal(await limiter.acquire('k', { secondsBetweenRequests: 3 }), 2000);
  clock.t = 10_000;
  assert.equal(await limiter.acquire('k', { secondsBetweenRequests: 3 }), 0);
});

test('keys are independent and calls without limits pass straight through', async () => {
  const { limiter } = fakeClock(0);
  assert.equal(await limiter.acquire('a', { requestsPerSecond: 1 }), 0);
  assert.equal(await limiter.acquire('b', { requestsPerSecond: 1 }), 0);
  assert.equal(await limiter.acquire('a', { requestsPerSecond: 1 }), 1000);
  assert.equal(await limiter.acquire('c', {}), 0);
  assert.equal(await limiter.acquire('c', {}), 0);
  assert.equal(limiter.size, 2, 'unlimited calls are not tracked');
});

test('calls on one key complete in FIFO order with real timers', async () => {
  const limiter = new RateLimiter();
  const order: number[] = [];
  await Promise.all([0, 1, 2, 3, 4].map((i) => limiter.acquire('fifo', { secondsBetweenRequests: 0.005 }).then(() => order.push(i))));
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
});

test('idle keys are dropped so many keys do not leak memory', async () => {
  const { clock, limiter } = fakeClock(0);
  for (let i = 0; i < 5000; i++) {
    await limiter.acquire(`key-${i}`, { requestsPerSecond: 1 });
    clock.t += 10; // each key's next slot (1 s later) passes after 100 further calls
  }
  assert.ok(limiter.size <= 400, `tracked ${limiter.size} keys`);
  // A key still inside its spacing window is kept and still enforced.
  assert.equal(await limiter.acquire('key-4999', { requestsPerSecond: 1 }), 990);
});

test('acquire is abortable while waiting', async () => {
  const limiter = new RateLimiter();
  await limiter.acquire('slow', { secondsBetweenRequests: 60 });
  const ac = new AbortController();
  const pending = limiter.acquire('slow', { secondsBetweenRequests: 60 }, ac.signal);
  ac.abort(new Error('cancelled'));
  await assert.rejects(pending, /cancelled/);
});

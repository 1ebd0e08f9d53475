import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dialects } from '../helpers/databases.js';
import { ENGINES, freshKey, runnerFor } from './engines.js';
import { storageWorld } from './storage-fixtures.js';
import { ScriptStorageRepo } from '../../src/scripting/script-storage.js';
import { MAX_STORAGE_KEYS_PER_SCOPE } from '../../src/scripting/script-host.js';

for (const dialect of dialects()) {
  describe(`script storage on ${dialect}`, () => {
    test('every operation of a scope', async (t) => {
      const world = await storageWorld(dialect);
      t.after(() => world.close());
      const repo = new ScriptStorageRepo(world.database.db);
      const kv = repo.connectorScope('p1', world.partners.p1.ac[0]);
      assert.equal(await kv.get('missing'), null);
      await kv.set('b', { nested: [1, 'two', null], ok: true });
      await kv.set('a', 'first');
      await kv.set('a', 'second');
      assert.equal(await kv.get('a'), 'second');
      assert.deepEqual(await kv.get('b'), { nested: [1, 'two', null], ok: true });
      assert.deepEqual(await kv.append('list', 1), [1]);
      assert.deepEqual(await kv.append('list', { x: 2 }), [1, { x: 2 }]);
      assert.deepEqual(await kv.append('a', 'third'), ['second', 'third']);
      assert.equal(await kv.increment('n', 5), 5);
      assert.equal(await kv.increment('n', -2), 3);
      assert.deepEqual(await kv.listKeys(), ['a', 'b', 'list', 'n']);
      assert.deepEqual(await kv.listValues(), [['second', 'third'], { nested: [1, 'two', null], ok: true }, [1, { x: 2 }], 3]);
      assert.equal(await kv.delete('b'), true);
      assert.equal(await kv.delete('b'), false);
      assert.equal(await kv.deleteAll(), 3);
      assert.deepEqual(await kv.listKeys(), []);
    });

    test('scopes are apart: partner, account connector, cycle', async (t) => {
      const world = await storageWorld(dialect);
      t.after(() => world.close());
      const repo = new ScriptStorageRepo(world.database.db);
      const { p1, p2 } = world.partners;
      const mine = repo.connectorScope('p1', p1.ac[0]);
      const otherAccount = repo.connectorScope('p1', p1.ac[1]);
      const otherPartner = repo.connectorScope('p2', p2.ac[0]);
      // Another partner naming my account connector id sees nothing either.
      const spoofed = repo.connectorScope('p2', p1.ac[0]);
      const cycleA = repo.cycleScope('p1', p1.ac[0], 'cycle-a');
      const cycleB = repo.cycleScope('p1', p1.ac[0], 'cycle-b');
      await mine.set('token', 'mine');
      await cycleA.set('token', 'cycle-a');
      await otherAccount.set('token', 'other');
      await otherPartner.set('token', 'partner-2');
      assert.equal(await mine.get('token'), 'mine');
      assert.equal(await cycleA.get('token'), 'cycle-a');
      assert.equal(await cycleB.get('token'), null);
      assert.equal(await otherAccount.get('token'), 'other');
      assert.equal(await otherPartner.get('token'), 'partner-2');
      assert.equal(await spoofed.get('token'), null);
      assert.equal(await cycleB.deleteAll(), 0);
      assert.equal(await mine.deleteAll(), 1);
      assert.equal(await cycleA.get('token'), 'cycle-a');
      assert.equal(await repo.deleteCycle('p1', p1.ac[0], 'cycle-a'), 1);
      // Deleting an account connector removes its storage.
      await world.database.db.deleteFrom('account_connectors').where('id', '=', p1.ac[1]).execute();
      assert.equal(await otherAccount.get('token'), null);
    });

    test('concurrent increments and appends lose nothing', async (t) => {
      const world = await storageWorld(dialect);
      t.after(() => world.close());
      const repo = new ScriptStorageRepo(world.database.db);
      const kv = repo.connectorScope('p1', world.partners.p1.ac[0]);
      await Promise.all(Array.from({ length: 20 }, () => kv.increment('count', 1)));
      await Promise.all(Array.from({ length: 10 }, (_, i) => kv.append('log', i)));
      assert.equal(await kv.get('count'), 20);
      assert.deepEqual(((await kv.get('log')) as number[]).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    test('limits: key length, value size, keys per scope; stored __proto__ keys stay data', async (t) => {
      const world = await storageWorld(dialect);
      t.after(() => world.close());
      const repo = new ScriptStorageRepo(world.database.db);
      const kv = repo.connectorScope('p1', world.partners.p1.ac[0]);
      await assert.rejects(kv.set('', 1), /1 to 255 characters/);
      await assert.rejects(kv.set('k'.repeat(256), 1), /1 to 255 characters/);
      await assert.rejects(kv.set('big', 'x'.repeat(1024 * 1024 + 1)), /larger than/);
      await kv.set('p', JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'));
      const back = (await kv.get('p')) as Record<string, unknown>;
      assert.equal(back.ok, 1);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.getPrototypeOf(back), Object.prototype);
      // The per-scope key cap, checked on new keys only.
      const values = Array.from({ length: MAX_STORAGE_KEYS_PER_SCOPE - 1 }, (_, i) => ({
        partner_id: 'p1',
        account_connector_id: world.partners.p1.ac[0],
        cycle_id: '',
        key: `k${i}`,
        value: '1',
        updated_at: new Date().toISOString(),
      }));
      for (let i = 0; i < values.length; i += 500) await world.database.db.insertInto('script_storage').values(values.slice(i, i + 500)).execute();
      await assert.rejects(kv.set('one-too-many', 1), /at most/);
      await kv.set('k1', 2);
      assert.equal(await kv.get('k1'), 2);
    });

    for (const engine of ENGINES) {
      test(`scripts on ${engine} read and write the database through cyclr_storage_* / cycle_storage_*`, async (t) => {
        const world = await storageWorld(dialect);
        t.after(() => world.close());
        const repo = new ScriptStorageRepo(world.database.db);
        const ac = world.partners.p1.ac[0];
        const runner = await runnerFor(engine);
        const source = `function after_action() {
          var runs = cyclr_storage_increment('runs', 1);
          cycle_storage_append('pages', method_response.page);
          method_response = { runs: runs, pages: cycle_storage_get('pages'), keys: cyclr_storage_list_keys() };
          return true;
        }`;
        const host = { storage: { connector: repo.connectorScope('p1', ac), cycle: repo.cycleScope('p1', ac, 'cy1') } };
        const isolationKey = freshKey('p1/acc1');
        await runner.runEvent({ event: 'after_action', isolationKey, sources: { method: source }, globals: { method_response: { page: 1 } }, host });
        const second = await runner.runEvent({ event: 'after_action', isolationKey, sources: { method: source }, globals: { method_response: { page: 2 } }, host });
        assert.deepEqual(second.globals.method_response, { runs: 2, pages: [1, 2], keys: ['runs'] });
        assert.deepEqual(await repo.cycleScope('p1', ac, 'cy1').get('pages'), [1, 2]);
      });
    }
  });
}

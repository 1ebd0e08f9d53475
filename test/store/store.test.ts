// The store on each database: migrations, lifecycle constraints, type conversions.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import { openDatabase } from '../../src/store/database.js'
import { Store } from '../../src/store/store.js'
import { newId } from '../../src/shared/ids.js'
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/databases.js'

for (const dialect of dialects()) {
  describe(`store [${dialect}]`, () => {
    let db: TestDatabase
    let store: Store
    const at = '2026-01-01T00:00:00.000Z'
    before(async () => {
      db = await createTestDatabase(dialect)
      store = new Store(openDatabase(db.url, { schema: db.schema }))
      await store.migrate()
    })
    after(async () => {
      await store.close()
      await db.cleanup()
    })

    const partner = async () => {
      const id = newId('ptr')
      await store.partners.insert({ id, name: 'P', plan: { allowCustomConnectors: true, maxCustomConnectors: 3 }, enableBetaConnectors: true, createdAt: at })
      return id
    }
    const connector = async (partnerId: string) => {
      const id = newId('con')
      await store.connectors.insert({ id, partnerId, name: 'C', description: null, apiVersion: null, hasIcon: false, createdAt: at, updatedAt: at })
      return id
    }
    const release = (connectorId: string, partnerId: string, state: 'draft' | 'live' | 'deprecated', version: { major: number; minor: number } | null = null) =>
      store.releases.insert({ id: newId('rel'), connectorId, partnerId, state, version, settings: { status: 'Unknown' }, definition: {}, hasIcon: false, createdAt: at, updatedAt: at, pushedAt: null, deprecatedAt: null })

    test('a draft reads its latest definition; a pushed release its definition, parsed once and frozen, with fresh state', async () => {
      const pid = await partner()
      const cid = await connector(pid)
      const rid = newId('rel')
      const def = (title: string) => ({ methods: [{ id: 'm1', name: title, method: 'GET', endpoint: '/x' }] }) as never
      await store.releases.insert({ id: rid, connectorId: cid, partnerId: pid, state: 'draft', version: null, settings: { status: 'Unknown' }, definition: def('one'), hasIcon: false, createdAt: at, updatedAt: at, pushedAt: null, deprecatedAt: null })
      const name = (r: unknown) => (r as { definition: { methods: Array<{ name: string }> } }).definition.methods[0]!.name
      assert.equal(name(await store.releases.get(cid, rid)), 'one')
      await store.releases.updateDraft(cid, rid, { definition: def('two'), updatedAt: at })
      assert.equal(name(await store.releases.get(cid, rid)), 'two', 'a draft is never served from the cache')
      await store.db.transaction().execute((tx) => store.releases.promote(tx, { connectorId: cid, draftId: rid, previousLiveId: null, version: { major: 1, minor: 0 }, at }))
      const first = await store.releases.get(cid, rid)
      const second = await store.releases.get(cid, rid)
      assert.equal(name(second), 'two')
      assert.equal(second!.state, 'live')
      assert.equal(first!.definition, second!.definition, 'parsed once')
      assert.ok(Object.isFrozen(second!.definition.methods![0]), 'shared, so frozen')
      // State changes still show: only the definition is remembered.
      await store.db.updateTable('releases').set({ state: 'deprecated' }).where('id', '=', rid).execute()
      assert.equal((await store.releases.get(cid, rid))!.state, 'deprecated')
      assert.equal(await store.releases.get(newId('con'), rid), undefined, 'another connector id: not found, cache or not')
    })

    test('migrating twice is a no-op', async () => {
      await store.migrate()
      const tables = dialect === 'sqlite'
        ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(store.db)
        : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(store.db)
      const names = tables.rows.map((r) => r.name)
      for (const t of ['partners', 'api_keys', 'connectors', 'releases', 'icons', 'connector_history']) assert.ok(names.includes(t), t)
    })

    test('booleans, nulls and counts come back as JS values', async () => {
      const pid = await partner()
      const p = await store.partners.get(pid)
      assert.deepEqual(p?.plan, { allowCustomConnectors: true, maxCustomConnectors: 3 })
      assert.equal(p?.enableBetaConnectors, true)
      await connector(pid)
      await connector(pid)
      const n = await store.connectors.countOwned(pid)
      assert.equal(n, 2)
      assert.equal(typeof n, 'number')
    })

    test('the database itself refuses a second draft or a second live release', async () => {
      const pid = await partner()
      const cid = await connector(pid)
      await release(cid, pid, 'draft')
      await assert.rejects(release(cid, pid, 'draft'), /unique|duplicate/i)
      await release(cid, pid, 'live', { major: 1, minor: 0 })
      await assert.rejects(release(cid, pid, 'live', { major: 1, minor: 1 }), /unique|duplicate/i)
      await release(cid, pid, 'deprecated', { major: 0, minor: 9 })
      await release(cid, pid, 'deprecated', { major: 0, minor: 8 })
      await assert.rejects(release(cid, pid, 'deprecated', { major: 0, minor: 8 }), /unique|duplicate/i, 'versions are unique')
      assert.equal((await store.releases.list(cid)).length, 4)
    })

    test('an unknown state is refused by a check constraint', async () => {
      const pid = await partner()
      const cid = await connector(pid)
      await assert.rejects(release(cid, pid, 'released' as never), /check|constraint/i)
    })

    test('foreign keys hold: deleting a connector removes its releases and history', async () => {
      const pid = await partner()
      const cid = await connector(pid)
      await release(cid, pid, 'draft')
      await store.history.record({ id: newId('hst'), connectorId: cid, partnerId: pid, releaseId: null, event: 'connector_created', version: null, actor: 'test', at, details: null })
      await store.connectors.delete(pid, cid)
      assert.equal((await store.releases.list(cid)).length, 0)
      assert.equal((await store.history.list(cid, { limit: 10 })).length, 0)
      await assert.rejects(
        store.connectors.insert({ id: newId('con'), partnerId: 'ptr_missing', name: 'x', description: null, apiVersion: null, hasIcon: false, createdAt: at, updatedAt: at }),
        /foreign|constraint/i,
      )
    })

    test('tenant scoping: a connector is visible to its partner and not to another', async () => {
      const a = await partner()
      const b = await partner()
      const cid = await connector(a)
      assert.ok(await store.connectors.getVisible(a, cid))
      assert.equal(await store.connectors.getVisible(b, cid), undefined)
      await store.connectors.update(b, cid, { name: 'hijack', updatedAt: at })
      await store.connectors.delete(b, cid)
      assert.equal((await store.connectors.getVisible(a, cid))?.name, 'C', "another partner's update and delete touch nothing")
    })

    test('icons round-trip as bytes', async () => {
      const bytes = Buffer.from([0, 1, 2, 255, 254, 0])
      await store.icons.put('owner_x', bytes, at)
      assert.ok((await store.icons.get('owner_x'))?.equals(bytes))
      await store.icons.put('owner_x', Buffer.from([9]), at)
      assert.ok((await store.icons.get('owner_x'))?.equals(Buffer.from([9])))
    })

    if (dialect === 'sqlite') {
      test('SQLite runs in WAL mode with foreign keys on', async () => {
        const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db)
        assert.equal(mode.rows[0].journal_mode, 'wal')
        const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(store.db)
        assert.equal(fk.rows[0].foreign_keys, 1)
      })
    }
  })
}

// A migrated test database with two partners, each with two account connectors, for storage tests.
import type { Kysely } from 'kysely';
import { openDatabase } from '../../src/store/database.js';
import type { Database } from '../../src/store/database.js';
import { migrateToLatest } from '../../src/store/migrations/index.js';
import { createTestDatabase } from '../helpers/databases.js';
import type { TestDatabase } from '../helpers/databases.js';

export interface StorageWorld {
  database: Database;
  /** partner → account connector ids */
  partners: { p1: { id: string; ac: [string, string] }; p2: { id: string; ac: [string, string] } };
  close(): Promise<void>;
}

async function seedPartner(db: Kysely<any>, p: string): Promise<[string, string]> {
  const at = new Date().toISOString();
  await db.insertInto('partners').values({ id: p, name: p, created_at: at }).execute();
  await db.insertInto('connectors').values({ id: `${p}-con`, partner_id: p, name: 'CRM', created_at: at, updated_at: at }).execute();
  await db
    .insertInto('releases')
    .values({ id: `${p}-rel`, connector_id: `${p}-con`, partner_id: p, state: 'draft', settings: '{}', definition: '{}', created_at: at, updated_at: at })
    .execute();
  const ids: string[] = [];
  for (const n of [1, 2]) {
    await db.insertInto('accounts').values({ id: `${p}-acc${n}`, partner_id: p, name: `Account ${n}`, timezone: 'UTC', created_at: at, updated_at: at }).execute();
    await db
      .insertInto('account_connectors')
      .values({
        id: `${p}-ac${n}`,
        partner_id: p,
        account_id: `${p}-acc${n}`,
        connector_id: `${p}-con`,
        release_id: `${p}-rel`,
        auth_type: 'none',
        properties: '{}',
        hints: '{}',
        created_at: at,
        updated_at: at,
      })
      .execute();
    ids.push(`${p}-ac${n}`);
  }
  return ids as [string, string];
}

export async function storageWorld(dialect: 'sqlite' | 'postgres'): Promise<StorageWorld> {
  const test: TestDatabase = await createTestDatabase(dialect);
  const database = openDatabase(test.url, { schema: test.schema });
  await migrateToLatest(database.db, database.schema);
  const db = database.db as unknown as Kysely<any>;
  const p1 = { id: 'p1', ac: await seedPartner(db, 'p1') };
  const p2 = { id: 'p2', ac: await seedPartner(db, 'p2') };
  return {
    database,
    partners: { p1, p2 },
    close: async () => {
      await database.close();
      await test.cleanup();
    },
  };
}

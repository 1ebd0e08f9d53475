// Script key/value storage in the database (table script_storage, migration 0002-script-storage).
// A scope is fixed when the host builds it — partner + account connector (+ cycle) — and a script
// only ever names keys, so it cannot reach another account's or connector's data. Read-modify-write
// operations (append, increment) run in a transaction with the row locked on PostgreSQL (SQLite
// serialises writers), so concurrent executions do not lose updates.
import { PostgresAdapter } from 'kysely';
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import type { DB } from '../store/tables.js';
import { MAX_STORAGE_KEY_CHARS, MAX_STORAGE_KEYS_PER_SCOPE, MAX_STORAGE_VALUE_BYTES } from './script-host.js';
import type { KeyValueStore } from './script-host.js';

export interface StorageScope {
  partnerId: string;
  /** The installed connector (account connector) whose scripts own the data. */
  accountConnectorId: string;
  /** Set for cycle-scoped storage (`cycle_storage_*`). */
  cycleId?: string;
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text, (k, v: unknown) => (k === '__proto__' ? undefined : v)) as unknown;
  } catch {
    return null;
  }
};

function encode(value: unknown): string {
  const text = JSON.stringify(value === undefined ? null : value);
  if (text.length > MAX_STORAGE_VALUE_BYTES) throw new Error(`storage: the value is larger than ${MAX_STORAGE_VALUE_BYTES} bytes`);
  return text;
}

/** The rows of one scope. */
const inScope = (s: StorageScope) => (eb: ExpressionBuilder<DB, 'script_storage'>) =>
  eb.and([eb('partner_id', '=', s.partnerId), eb('account_connector_id', '=', s.accountConnectorId), eb('cycle_id', '=', s.cycleId ?? '')]);

function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_STORAGE_KEY_CHARS) throw new Error(`storage: the key must have 1 to ${MAX_STORAGE_KEY_CHARS} characters`);
  return key;
}

export class ScriptStorageRepo {
  readonly #db: Kysely<DB>;
  readonly #now: () => Date;
  readonly #locks: boolean;

  constructor(db: Kysely<DB>, options: { now?: () => Date } = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
    this.#locks = db.getExecutor().adapter instanceof PostgresAdapter;
  }

  /** `cyclr_storage_*`: shared by every cycle of the account connector. */
  connectorScope(partnerId: string, accountConnectorId: string): KeyValueStore {
    return new SqlKeyValueStore(this, { partnerId, accountConnectorId });
  }

  /** `cycle_storage_*`: one cycle's own data. */
  cycleScope(partnerId: string, accountConnectorId: string, cycleId: string): KeyValueStore {
    if (!cycleId) throw new Error('cycleScope needs a cycle id');
    return new SqlKeyValueStore(this, { partnerId, accountConnectorId, cycleId });
  }

  /** Removes a cycle's storage (when the cycle is deleted). Account connectors cascade on their own. */
  async deleteCycle(partnerId: string, accountConnectorId: string, cycleId: string): Promise<number> {
    const r = await this.#db
      .deleteFrom('script_storage')
      .where('partner_id', '=', partnerId)
      .where('account_connector_id', '=', accountConnectorId)
      .where('cycle_id', '=', cycleId)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }


  async get(s: StorageScope, key: string): Promise<unknown> {
    const row = await this.#db.selectFrom('script_storage').select('value').where(inScope(s)).where('key', '=', checkKey(key)).executeTakeFirst();
    return row ? parse(row.value) : null;
  }

  async set(s: StorageScope, key: string, value: unknown): Promise<void> {
    const text = encode(value);
    await this.#db.transaction().execute(async (trx) => {
      await this.#ensureRoom(trx, s, checkKey(key));
      await this.#upsert(trx, s, key, text);
    });
  }

  async delete(s: StorageScope, key: string): Promise<boolean> {
    const r = await this.#db.deleteFrom('script_storage').where(inScope(s)).where('key', '=', checkKey(key)).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteAll(s: StorageScope): Promise<number> {
    const r = await this.#db.deleteFrom('script_storage').where(inScope(s)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async listKeys(s: StorageScope): Promise<string[]> {
    const rows = await this.#db.selectFrom('script_storage').select('key').where(inScope(s)).orderBy('key').execute();
    return rows.map((r) => r.key);
  }

  async listValues(s: StorageScope): Promise<unknown[]> {
    const rows = await this.#db.selectFrom('script_storage').select('value').where(inScope(s)).orderBy('key').execute();
    return rows.map((r) => parse(r.value));
  }

  /** Read-modify-write of one key, atomic: the row is created if missing, then locked, then updated. */
  async update<T>(s: StorageScope, key: string, change: (current: unknown) => T): Promise<T> {
    checkKey(key);
    return this.#db.transaction().execute(async (trx) => {
      await this.#ensureRoom(trx, s, key);
      await trx
        .insertInto('script_storage')
        .values({ partner_id: s.partnerId, account_connector_id: s.accountConnectorId, cycle_id: s.cycleId ?? '', key, value: 'null', updated_at: this.#now().toISOString() })
        .onConflict((oc) => oc.columns(['partner_id', 'account_connector_id', 'cycle_id', 'key']).doNothing())
        .execute();
      let q = trx.selectFrom('script_storage').select('value').where(inScope(s)).where('key', '=', key);
      if (this.#locks) q = q.forUpdate();
      const row = await q.executeTakeFirst();
      const next = change(row ? parse(row.value) : null);
      await this.#upsert(trx, s, key, encode(next));
      return next;
    });
  }

  async #ensureRoom(trx: Transaction<DB>, s: StorageScope, key: string): Promise<void> {
    const exists = await trx.selectFrom('script_storage').select('key').where(inScope(s)).where('key', '=', key).executeTakeFirst();
    if (exists) return;
    const { n } = await trx.selectFrom('script_storage').select((eb) => eb.fn.countAll<number>().as('n')).where(inScope(s)).executeTakeFirstOrThrow();
    if (Number(n) >= MAX_STORAGE_KEYS_PER_SCOPE) throw new Error(`storage: at most ${MAX_STORAGE_KEYS_PER_SCOPE} keys per scope`);
  }

  async #upsert(trx: Transaction<DB>, s: StorageScope, key: string, value: string): Promise<void> {
    const updated_at = this.#now().toISOString();
    await trx
      .insertInto('script_storage')
      .values({ partner_id: s.partnerId, account_connector_id: s.accountConnectorId, cycle_id: s.cycleId ?? '', key, value, updated_at })
      .onConflict((oc) => oc.columns(['partner_id', 'account_connector_id', 'cycle_id', 'key']).doUpdateSet({ value, updated_at }))
      .execute();
  }
}

/** One scope of the repository, as scripts use it. */
class SqlKeyValueStore implements KeyValueStore {
  readonly #repo: ScriptStorageRepo;
  readonly #scope: StorageScope;

  constructor(repo: ScriptStorageRepo, scope: StorageScope) {
    this.#repo = repo;
    this.#scope = Object.freeze({ ...scope });
  }

  get(key: string): Promise<unknown> {
    return this.#repo.get(this.#scope, key);
  }

  set(key: string, value: unknown): Promise<void> {
    return this.#repo.set(this.#scope, key, value);
  }

  delete(key: string): Promise<boolean> {
    return this.#repo.delete(this.#scope, key);
  }

  deleteAll(): Promise<number> {
    return this.#repo.deleteAll(this.#scope);
  }

  listKeys(): Promise<string[]> {
    return this.#repo.listKeys(this.#scope);
  }

  listValues(): Promise<unknown[]> {
    return this.#repo.listValues(this.#scope);
  }

  append(key: string, value: unknown): Promise<unknown[]> {
    return this.#repo.update(this.#scope, key, (cur) => [...(Array.isArray(cur) ? cur : cur === null ? [] : [cur]), value === undefined ? null : value]);
  }

  increment(key: string, by: number): Promise<number> {
    return this.#repo.update(this.#scope, key, (cur) => (typeof cur === 'number' ? cur : Number(cur ?? 0) || 0) + by);
  }
}

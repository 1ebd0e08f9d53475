// The few column types that differ between the dialects, chosen from the live adapter.
import { type Kysely, PostgresAdapter } from 'kysely'

export const isPostgres = (db: Kysely<any>) => db.getExecutor().adapter instanceof PostgresAdapter
export const binaryType = (db: Kysely<any>) => (isPostgres(db) ? 'bytea' : 'blob')

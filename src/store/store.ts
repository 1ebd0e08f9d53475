// The store: one database handle and its repositories. Every partner-owned query takes partnerId.
import { sql } from 'kysely'
import type { Database } from './database.js'
import { migrateToLatest } from './migrations/index.js'
import { ConnectorsRepo } from './repositories/connectors.js'
import { HistoryRepo } from './repositories/history.js'
import { IconsRepo } from './repositories/icons.js'
import { ApiKeysRepo, PartnersRepo } from './repositories/partners.js'
import { ReleasesRepo } from './repositories/releases.js'

export class Store {
  readonly partners: PartnersRepo
  readonly apiKeys: ApiKeysRepo
  readonly connectors: ConnectorsRepo
  readonly releases: ReleasesRepo
  readonly icons: IconsRepo
  readonly history: HistoryRepo

  constructor(readonly database: Database) {
    const db = database.db
    this.partners = new PartnersRepo(db)
    this.apiKeys = new ApiKeysRepo(db)
    this.connectors = new ConnectorsRepo(db)
    this.releases = new ReleasesRepo(db)
    this.icons = new IconsRepo(db)
    this.history = new HistoryRepo(db)
  }

  get db() {
    return this.database.db
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.database.db)
  }

  migrate(): Promise<void> {
    return migrateToLatest(this.database.db)
  }

  close(): Promise<void> {
    return this.database.close()
  }
}

// The store: one database handle and its repositories. Every partner-owned query takes partnerId.
import { sql } from 'kysely'
import type { Database } from './database.js'
import { migrateToLatest } from './migrations/index.js'
import { ReleaseListCache } from './read-cache.js'
import { ConnectorsRepo } from './repositories/connectors.js'
import { HistoryRepo } from './repositories/history.js'
import { IconsRepo } from './repositories/icons.js'
import { ApiKeysRepo, PartnersRepo } from './repositories/partners.js'
import { ReleasesRepo } from './repositories/releases.js'
import { TemplatesRepo } from './repositories/templates.js'
import { CyclesRepo } from './repositories/cycles.js'
import { AccountsRepo } from './repositories/accounts.js'
import { AccountConnectorsRepo, OAuthStatesRepo } from './repositories/account-connectors.js'
import { PartnerPropertiesRepo } from './repositories/partner-properties.js'

export class Store {
  readonly partners: PartnersRepo
  readonly apiKeys: ApiKeysRepo
  readonly connectors: ConnectorsRepo
  readonly releases: ReleasesRepo
  readonly icons: IconsRepo
  readonly history: HistoryRepo
  readonly accounts: AccountsRepo
  readonly accountConnectors: AccountConnectorsRepo
  readonly oauthStates: OAuthStatesRepo
  readonly partnerProperties: PartnerPropertiesRepo
  readonly templates: TemplatesRepo
  readonly cycles: CyclesRepo
  readonly releaseLists?: ReleaseListCache

  constructor(readonly database: Database) {
    const db = database.db
    // Capability, not a scattered dialect check: read caches are safe only with a single owner.
    this.releaseLists = database.singleProcess ? new ReleaseListCache() : undefined
    this.partners = new PartnersRepo(db)
    this.apiKeys = new ApiKeysRepo(db)
    this.connectors = new ConnectorsRepo(db, this.releaseLists)
    this.releases = new ReleasesRepo(db, this.releaseLists)
    this.icons = new IconsRepo(db)
    this.history = new HistoryRepo(db)
    this.accounts = new AccountsRepo(db)
    this.accountConnectors = new AccountConnectorsRepo(db)
    this.oauthStates = new OAuthStatesRepo(db)
    this.partnerProperties = new PartnerPropertiesRepo(db)
    this.templates = new TemplatesRepo(db)
    this.cycles = new CyclesRepo(db)
  }

  get db() {
    return this.database.db
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.database.db)
  }

  migrate(): Promise<void> {
    return migrateToLatest(this.database.db, this.database.schema)
  }

  close(): Promise<void> {
    return this.database.close()
  }
}

// The composition of services over one store: what the API, the CLI's in-process commands and
// the engine share.
import type { Config } from '../config/config.js'
import { loadLibrary } from '../library/library.js'
import { type Clock, systemClock } from '../shared/clock.js'
import { openDatabase, type OpenOptions } from '../store/database.js'
import { Store } from '../store/store.js'
import { ConnectorService } from './connectors.js'
import { PartnerService } from './partners.js'
import { ReleaseService } from './releases.js'

export interface Services {
  store: Store
  clock: Clock
  partners: PartnerService
  connectors: ConnectorService
  releases: ReleaseService
  close(): Promise<void>
}

export async function createServices(config: Pick<Config, 'databaseUrl' | 'adminToken'>, opts: { clock?: Clock; db?: OpenOptions } = {}): Promise<Services> {
  const clock = opts.clock ?? systemClock
  const store = new Store(openDatabase(config.databaseUrl, opts.db))
  await store.migrate()
  await loadLibrary(store, clock.now().toISOString())
  const partners = new PartnerService(store, clock, config.adminToken)
  const connectors = new ConnectorService(store, clock)
  const releases = new ReleaseService(store, connectors, clock)
  return { store, clock, partners, connectors, releases, close: () => store.close() }
}

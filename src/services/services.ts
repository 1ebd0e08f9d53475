// The composition of services over one store: what the API, the CLI's in-process commands and
// the engine share.
import type { Config } from '../config/config.js'
import { loadLibrary } from '../library/library.js'
import { randomBytes } from 'node:crypto'
import type { HttpSender } from '../runtime/exchange.js'
import { HttpClient } from '../runtime/http/http-client.js'
import { type Clock, systemClock } from '../shared/clock.js'
import { SecretBox } from '../shared/crypto.js'
import { openDatabase, type OpenOptions } from '../store/database.js'
import { Store } from '../store/store.js'
import { AccountConnectorService } from './account-connectors.js'
import { AccountService } from './accounts.js'
import { oauthScriptHooks } from './oauth-scripts.js'
import type { ScriptRunner } from '../scripting/index.js'
import { ConnectorService } from './connectors.js'
import { PartnerService } from './partners.js'
import { ReleaseService } from './releases.js'
import { TemplateService } from './templates.js'

export interface Services {
  store: Store
  clock: Clock
  partners: PartnerService
  connectors: ConnectorService
  releases: ReleaseService
  templates: TemplateService
  accounts: AccountService
  accountConnectors: AccountConnectorService
  /** Outbound HTTP for connector calls (SSRF-guarded unless allowPrivateNetwork). */
  http: HttpSender
  close(): Promise<void>
}

/** Config the services read; secretKey defaults to a random per-process key (tests only). */
export type ServicesConfig = Pick<Config, 'databaseUrl' | 'adminToken'> & Partial<Pick<Config, 'secretKey' | 'allowPrivateNetwork' | 'publicUrl'>>


export async function createServices(config: ServicesConfig, opts: { clock?: Clock; db?: OpenOptions; http?: HttpSender } = {}): Promise<Services> {
  const clock = opts.clock ?? systemClock
  const store = new Store(openDatabase(config.databaseUrl, opts.db))
  await store.migrate()
  await loadLibrary(store, clock.now().toISOString())
  const partners = new PartnerService(store, clock, config.adminToken)
  const connectors = new ConnectorService(store, clock)
  const releases = new ReleaseService(store, connectors, clock)
  const templates = new TemplateService(store, clock)
  // An injected client belongs to the caller; the one made here is closed with the services.
  const ownHttp = opts.http ? undefined : new HttpClient({ allowPrivateNetwork: config.allowPrivateNetwork ?? false })
  const http: HttpSender = opts.http ?? ownHttp!
  const box = new SecretBox(config.secretKey ?? randomBytes(32))
  const accounts = new AccountService(store, clock)
  // The script sandbox starts on first use (a release whose script handles an OAuth2 event).
  let scripts: Promise<ScriptRunner> | undefined
  const scriptRunner = () => (scripts ??= import('../scripting/index.js').then((m) => m.createScriptRunner()))
  const accountConnectors = new AccountConnectorService(store, clock, box, http, {
    publicUrl: config.publicUrl ?? undefined,
    oauthHooks: ({ compiled, ...ids }) => oauthScriptHooks(scriptRunner, { script: compiled.definition.script, ...ids }),
  })
  const close = async () => {
    if (scripts) await (await scripts).dispose()
    await ownHttp?.close()
    await store.close()
  }
  return { store, clock, partners, connectors, releases, templates, accounts, accountConnectors, http, close }
}

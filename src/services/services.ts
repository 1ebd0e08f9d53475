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
import { createActionScripts, mentionsActionEvent } from '../scripting/action-scripts.js'
import { ScriptStorageRepo } from '../scripting/script-storage.js'
import { ConnectorService } from './connectors.js'
import { PartnerService } from './partners.js'
import { ReleaseService } from './releases.js'
import { TemplateService } from './templates.js'
import { CycleService } from './cycles.js'
import { WebhookService } from './webhooks.js'
import { UpgradeService } from './upgrades.js'
import { Engine } from '../engine/engine.js'
import { EngineMetrics } from '../engine/metrics.js'
import { createJobQueue } from '../engine/queue/create-job-queue.js'
import type { JobQueue } from '../engine/queue/job-queue.js'
import { engineTasks, type EngineTasks } from '../engine/tasks.js'

export interface Services {
  store: Store
  clock: Clock
  partners: PartnerService
  connectors: ConnectorService
  releases: ReleaseService
  templates: TemplateService
  accounts: AccountService
  accountConnectors: AccountConnectorService
  cycles: CycleService
  webhooks: WebhookService
  upgrades: UpgradeService
  queue: JobQueue<EngineTasks>
  engine: Engine
  metrics: EngineMetrics
  /** Outbound HTTP for connector calls (SSRF-guarded unless allowPrivateNetwork). */
  http: HttpSender
  /** The script sandbox, started on first use. */
  scripts: () => Promise<ScriptRunner>
  close(): Promise<void>
}

/** Config the services read; secretKey defaults to a random per-process key (tests only). */
export type ServicesConfig = Pick<Config, 'databaseUrl' | 'adminToken'> & Partial<Pick<Config, 'secretKey' | 'allowPrivateNetwork' | 'publicUrl'>>


export interface ServicesOptions {
  clock?: Clock
  db?: OpenOptions
  http?: HttpSender
  /** graphile-worker's schema on PostgreSQL (tests isolate runs with their own) */
  workerSchema?: string
  /** waits between "retry after a wait" attempts (tests shorten them) */
  retryWaitsMs?: readonly number[]
  /** collect Node's default process metrics too (the server does; tests don't) */
  defaultMetrics?: boolean
  /** the queue's lease: how soon a crashed worker's jobs run again (default 30 s; tests shorten it) */
  queueLeaseMs?: number
}

export async function createServices(config: ServicesConfig, opts: ServicesOptions = {}): Promise<Services> {
  const clock = opts.clock ?? systemClock
  const store = new Store(openDatabase(config.databaseUrl, opts.db))
  await store.migrate()
  await loadLibrary(store, clock.now().toISOString())
  const partners = new PartnerService(store, clock, config.adminToken)
  const connectors = new ConnectorService(store, clock)
  // The script sandbox starts on first use (a release whose script handles an event, a push with scripts).
  let scripts: Promise<ScriptRunner> | undefined
  const scriptRunner = () => (scripts ??= import('../scripting/index.js').then((m) => m.createScriptRunner()))
  const releases = new ReleaseService(store, connectors, clock, async (source) => (await scriptRunner()).checkScript(source))
  const templates = new TemplateService(store, clock)
  // An injected client belongs to the caller; the one made here is closed with the services.
  const ownHttp = opts.http ? undefined : new HttpClient({ allowPrivateNetwork: config.allowPrivateNetwork ?? false })
  const http: HttpSender = opts.http ?? ownHttp!
  const box = new SecretBox(config.secretKey ?? randomBytes(32))
  const accounts = new AccountService(store, clock)
  const scriptStorage = new ScriptStorageRepo(store.db)
  // Late-bound: deauthentication pauses cycles, cycles run through the engine, the engine calls
  // methods through the account connectors.
  let cycles: CycleService | undefined
  const accountConnectors = new AccountConnectorService(store, clock, box, http, {
    publicUrl: config.publicUrl ?? undefined,
    onDeauthenticated: async (accountConnectorId) => {
      for (const cycleId of await store.cycles.cyclesUsingAccountConnector(accountConnectorId)) {
        const c = await store.cycles.getById(cycleId)
        if (c?.status === 'active') await cycles!.pause(cycleId, `account connector ${accountConnectorId} was deauthenticated`, 'paused')
      }
    },
    // While the credentials still work: active webhook cycles pause and delete their subscriptions.
    beforeDeauthenticate: async (accountConnectorId) => {
      for (const cycleId of await store.cycles.cyclesUsingAccountConnector(accountConnectorId)) {
        const c = await store.cycles.getById(cycleId)
        if (c?.status === 'active') await cycles!.pause(cycleId, `account connector ${accountConnectorId} was deauthenticated`, 'paused')
      }
    },
    oauthHooks: ({ compiled, ...ids }) => oauthScriptHooks(scriptRunner, { script: compiled.definition.script, ...ids }),
    // One ActionScripts per method call; none (and no sandbox) when no script mentions an action event.
    actionScripts: (c) =>
      !mentionsActionEvent(c.sources) ? undefined : createActionScripts(scriptRunner, {
        sources: c.sources,
        scriptParameters: c.scriptParameters,
        isolationKey: `${c.partnerId}/${c.accountId}`,
        context: c.context,
        ids: { accountId: c.accountId, externalAccountId: c.externalAccountId, cycleId: c.cycleId ?? null, cycleStepId: c.cycleStepId ?? null, transactionId: c.transactionId ?? null },
        http,
        rateLimitKey: c.accountConnectorId,
        storage: {
          connector: scriptStorage.connectorScope(c.partnerId, c.accountConnectorId),
          ...(c.cycleId ? { cycle: scriptStorage.cycleScope(c.partnerId, c.accountConnectorId, c.cycleId) } : {}),
        },
        mergefields: c.mergefields,
      }),
  })
  const metrics = new EngineMetrics({ defaultMetrics: opts.defaultMetrics })
  const queue = createJobQueue<EngineTasks>(store.database, {
    payloadSchemas: engineTasks,
    ...(opts.queueLeaseMs !== undefined ? { leaseMs: opts.queueLeaseMs } : {}),
    ...(store.database.dialect === 'postgres' ? { databaseUrl: config.databaseUrl, ...(opts.workerSchema ? { workerSchema: opts.workerSchema } : {}) } : {}),
  })
  await queue.migrate()
  const engine = new Engine({
    store,
    clock,
    queue,
    metrics,
    invoker: { pages: (inv) => accountConnectors.invoke(inv) },
    evaluate: async (expression, data, scope) => {
      const r = await (await scriptRunner()).evalExpression(expression, data, { isolationKey: `${scope.partnerId}/${scope.accountId}` })
      if (!r.ok) throw new Error(`inline script: ${r.error.message}`)
      return r.value
    },
    pauseCycle: (cycleId, reason) => cycles!.pause(cycleId, reason),
    ...(opts.retryWaitsMs ? { retryWaitsMs: opts.retryWaitsMs } : {}),
  })
  const webhooks = new WebhookService(store, clock, queue, { publicUrl: config.publicUrl ?? undefined, invoker: { pages: (inv) => accountConnectors.invoke(inv) }, partnerProperties: (pid, cid) => accountConnectors.partnerPropertyValues(pid, cid), scripts: scriptRunner })
  cycles = new CycleService(store, clock, engine, webhooks)
  engine.setWebhookRenewal((payload) => webhooks.renew(payload))
  // A forced upgrade that leaves a cycle unrunnable pauses it with the reason (SPEC §7).
  const upgrades = new UpgradeService(store, clock, (cycleId, reason) => cycles!.pause(cycleId, reason, 'paused'), {
    scripts: scriptRunner,
    // upgraded cycles: this process's next transactions read the new pins at once
    onCycleStepsChanged: (ids) => ids.forEach((id) => engine.runner.invalidate(id)),
  })
  const close = async () => {
    await queue.close({ timeoutMs: 5000 })
    if (scripts) await (await scripts).dispose()
    await ownHttp?.close()
    await store.close()
  }
  return { store, clock, partners, connectors, releases, templates, accounts, accountConnectors, cycles, webhooks, upgrades, queue, engine, metrics, http, scripts: scriptRunner, close }
}

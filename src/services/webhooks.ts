// Webhooks (SPEC §6): each webhook trigger step has an unguessable endpoint; a delivery to it is
// parsed (JSON, form, XML, text), split into one transaction per record of the webhook method's
// `records` location, and written with its transactions and their `transaction.run` jobs in ONE
// database transaction before the caller gets its 2xx: nothing acknowledged is lost.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { CompiledQuery, type Kysely } from 'kysely'
import type { Method, WebhookRouting } from '../definition/schema.js'
import { findMethod } from '../domain/template-rules.js'
import type { MethodInvoker } from '../engine/method-invoker.js'
import type { JobQueue } from '../engine/queue/job-queue.js'
import type { EngineTasks } from '../engine/tasks.js'
import { fail, notFound } from '../errors/errors.js'
import { describeError } from '../runtime/errors.js'
import { compilePath } from '../runtime/path.js'
import { compileRecordSelector, type RecordSelector } from '../runtime/record-selector.js'
import { formatOf, parseResponseBody } from '../runtime/response-parser.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { ScriptRunner } from '../scripting/index.js'
import type { Cycle, CycleStep } from '../store/repositories/cycles.js'
import type { Store } from '../store/store.js'
import type { DB, TransactionsTable, WebhookDeliveriesTable } from '../store/tables.js'
import type { Release } from '../store/repositories/releases.js'

/** Media types a webhook URL accepts; anything else is a 415. */
export const WEBHOOK_MEDIA_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'application/xml', 'text/xml', 'text/plain'] as const

export interface WebhookEndpoint {
  id: string
  cycleId: string
  stepId: string
  subscriptionId: string | null
  subscriptionExpiresAt: string | null
}

export interface DeliveryInput {
  contentType: string
  body: Buffer
  /** lower-case names (as node gives them) */
  headers?: Record<string, string | string[] | undefined>
}

export interface DeliveryOutcome {
  id: string
  /** singular URL: the cycles the delivery was routed to */
  cycles?: number
  /** the de-duplication id was seen before: nothing new was recorded or run */
  duplicate?: boolean
  /** before_webhook returned false: this is the answer, and nothing was recorded or run */
  reply?: { status: number; headers: Record<string, string>; body: unknown }
  status: WebhookDeliveriesTable['status']
  transactions: number
}

export interface DeliveryView {
  id: string
  /** singular URL: the partner-level delivery (with the body) this cycle's row was routed from */
  parentId: string | null
  connectorId: string | null
  cycleId: string | null
  status: WebhookDeliveriesTable['status']
  contentType: string
  body: string
  transactions: number
  detail: string | null
  receivedAt: string
}

const toView = (r: WebhookDeliveriesTable): DeliveryView => ({
  id: r.id,
  parentId: r.parent_id,
  connectorId: r.connector_id,
  cycleId: r.cycle_id,
  status: r.status,
  contentType: r.content_type,
  body: r.body,
  transactions: r.transactions,
  detail: r.detail,
  receivedAt: r.received_at,
})

interface PendingCommit {
  deliveries: WebhookDeliveriesTable[]
  transactions: TransactionsTable[]
  /** per-step URL: the cached routing this delivery was built from, re-checked inside the commit */
  target?: Target
  resolve(): void
  reject(err: unknown): void
}

/**
 * A per-step URL's routing (endpoint → active cycle → trigger step → webhook method), cached so a
 * delivery needs no read before its commit. Only active cycles are cached; the commit re-reads the
 * endpoint's row once per batch and, when the cycle is no longer active or its trigger step now
 * points to another release or method, the delivery is re-done from the database (404/410 or the
 * new routing). So a cached target is never acted on once it is out of date.
 */
interface Target {
  endpointId: string
  cycleId: string
  partnerId: string
  accountId: string
  stepId: string
  stepKey: string
  connectorId: string
  releaseId: string
  methodId: string
  /** the release row's updated_at: a draft edited in place is a different release */
  releaseStamp: string
  method: Method
  selector: RecordSelector
  sources: { connector: string | null; method: string | null }
  scripted: boolean
  at: number
}

interface TargetRow {
  cycle_id: string
  step_id: string
  status: string
  partner_id: string
  account_id: string
  step_key: string
  connector_id: string | null
  release_id: string | null
  method_id: string | null
  release_stamp: string | null
}

/** The cached target was out of date at commit time: the delivery is re-done from the database. */
class StaleTarget extends Error {}

const TARGET_TTL_MS = 30_000
const MAX_TARGETS = 10_000
const DELIVERY_COLUMNS = ['id', 'partner_id', 'connector_id', 'cycle_id', 'endpoint_id', 'parent_id', 'dedupe_key', 'status', 'content_type', 'body', 'transactions', 'detail', 'received_at'] as const
const TRANSACTION_COLUMNS = ['id', 'partner_id', 'cycle_id', 'status', 'trigger_data', 'state', 'next_step', 'step_attempts', 'error', 'created_at', 'started_at', 'finished_at'] as const

const WEBHOOK_EVENT = /\b(before_webhook|after_webhook)\b/

const renewalKey = (endpointId: string) => `webhook-renew:${endpointId}`

/** 32 random bytes: the URL is the only credential a third party needs, so it cannot be guessed. */
export const newWebhookId = () => `wh_${randomBytes(32).toString('base64url')}`

export class WebhookService {
  readonly #selectors = new Map<string, RecordSelector>()
  readonly #pending: PendingCommit[] = []
  #draining: Promise<void> | undefined
  readonly #targets = new Map<string, Target>()
  /** parsed releases by `id@updated_at` (a pushed release never changes) */
  readonly #releases = new Map<string, Promise<Release | undefined>>()
  readonly #sqlText = new Map<string, string>()

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly queue: JobQueue<EngineTasks>,
    private readonly opts: {
      publicUrl?: string
      invoker?: MethodInvoker
      /** the partner's property values of a connector, sensitive ones unsealed (signing secrets) */
      partnerProperties?: (partnerId: string, connectorId: string) => Promise<Record<string, string>>
      /** the script sandbox (started only for releases whose scripts handle a webhook event) */
      scripts?: () => Promise<ScriptRunner>
    } = {},
  ) {}

  /** The step's URL: `{publicUrl}/hooks/{id}` (a path when no public URL is configured). */
  url(endpointId: string): string {
    return `${(this.opts.publicUrl ?? '').replace(/\/+$/, '')}/hooks/${endpointId}`
  }

  /** A connector's singular partner URL: `{publicUrl}/hooks/partners/{pid}/connectors/{cid}`. */
  partnerUrl(partnerId: string, connectorId: string): string {
    return `${(this.opts.publicUrl ?? '').replace(/\/+$/, '')}/hooks/partners/${partnerId}/connectors/${connectorId}`
  }

  /** The webhook trigger step's endpoint, made on first use; the id never changes afterwards. */
  async ensureEndpoint(partnerId: string, cycleId: string, stepId: string): Promise<WebhookEndpoint> {
    const existing = await this.endpointOfStep(stepId)
    if (existing) return existing
    const row = { id: newWebhookId(), partner_id: partnerId, cycle_id: cycleId, step_id: stepId, subscription_id: null, subscription_expires_at: null, created_at: this.clock.now().toISOString() }
    try {
      await this.store.db.insertInto('webhook_endpoints').values(row).execute()
    } catch (err) {
      // Two activations racing: the other one's endpoint wins (unique step_id).
      const raced = await this.endpointOfStep(stepId)
      if (raced) return raced
      throw err
    }
    return { id: row.id, cycleId, stepId, subscriptionId: null, subscriptionExpiresAt: null }
  }

  async endpointOfStep(stepId: string): Promise<WebhookEndpoint | undefined> {
    const r = await this.store.db.selectFrom('webhook_endpoints').selectAll().where('step_id', '=', stepId).executeTakeFirst()
    return r && { id: r.id, cycleId: r.cycle_id, stepId: r.step_id, subscriptionId: r.subscription_id, subscriptionExpiresAt: r.subscription_expires_at }
  }

  async setSubscription(endpointId: string, subscriptionId: string | null, expiresAt: string | null): Promise<void> {
    await this.store.db.updateTable('webhook_endpoints').set({ subscription_id: subscriptionId, subscription_expires_at: expiresAt }).where('id', '=', endpointId).execute()
  }

  /**
   * Activation of a webhook cycle: when the method names a createMethod, it is called with
   * `{{Webhook_Url}}` and the subscription id read at `webhookIdLocation` (default `id`) is kept as
   * `Webhook_Id`. Throws (WEBHOOK_SUBSCRIPTION_FAILED) when the call fails or returns no id.
   */
  async subscribe(cycle: Cycle, step: CycleStep): Promise<WebhookEndpoint> {
    const endpoint = await this.ensureEndpoint(cycle.partnerId, cycle.id, step.id)
    const method = await this.webhookMethod(step)
    const create = method?.webhook?.createMethod
    if (!create) return endpoint
    let body: unknown
    try {
      body = await this.#call(cycle, step, create, endpoint)
    } catch (err) {
      throw fail('WEBHOOK_SUBSCRIPTION_FAILED', `the webhook subscription (${create}) failed: ${describeError(err).message}`)
    }
    const location = method.webhook?.webhookIdLocation ?? 'id'
    const id = compilePath(location).get(body)
    if (id === undefined || id === null || id === '') throw fail('WEBHOOK_SUBSCRIPTION_FAILED', `the webhook subscription (${create}) returned no id at "${location}"`)
    const expiresAt = this.#expiry(method, body)
    await this.setSubscription(endpoint.id, String(id), expiresAt)
    if (expiresAt) await this.#scheduleRenewal(endpoint.id, expiresAt)
    return { ...endpoint, subscriptionId: String(id), subscriptionExpiresAt: expiresAt }
  }

  /**
   * Deactivation, deletion, deauthentication: the deleteMethod is called with `{{Webhook_Id}}`;
   * the stored id is cleared whether or not it succeeds (a failure is returned for an incident).
   */
  async unsubscribe(cycle: Cycle, step: CycleStep): Promise<{ ok: true } | { ok: false; message: string } | undefined> {
    const endpoint = await this.endpointOfStep(step.id)
    if (!endpoint?.subscriptionId) return undefined
    const method = await this.webhookMethod(step)
    const del = method?.webhook?.deleteMethod
    await this.setSubscription(endpoint.id, null, null)
    await this.queue.removeJob(renewalKey(endpoint.id))
    if (!del) return undefined
    try {
      await this.#call(cycle, step, del, endpoint)
      return { ok: true }
    } catch (err) {
      return { ok: false, message: `the webhook unsubscription (${del}) failed: ${describeError(err).message}` }
    }
  }

  /**
   * The subscription's expiry from a create/update response: `expiresAtLocation` (ISO date-time,
   * or epoch seconds or milliseconds), else `expiresAfterSeconds` from now, else none.
   */
  #expiry(method: Method, body: unknown): string | null {
    const w = method.webhook
    if (w?.expiresAtLocation) {
      const v = compilePath(w.expiresAtLocation).get(body)
      const at = typeof v === 'number' || (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) ? Number(v) * (Number(v) < 1e11 ? 1000 : 1) : typeof v === 'string' ? Date.parse(v) : NaN
      if (Number.isFinite(at)) return new Date(at).toISOString()
    }
    return w?.expiresAfterSeconds ? new Date(this.clock.now().getTime() + w.expiresAfterSeconds * 1000).toISOString() : null
  }

  /**
   * A durable delayed job renews the subscription before it lapses: a fifth of its remaining
   * lifetime ahead, at most one hour ahead (a day-long subscription is renewed an hour before).
   * One job per endpoint (job key): a newer expiry replaces the job.
   */
  async #scheduleRenewal(endpointId: string, expiresAt: string, attempt?: number, runAt?: Date): Promise<void> {
    const now = this.clock.now().getTime()
    const end = Date.parse(expiresAt)
    const lead = Math.min((end - now) / 5, 3_600_000)
    const at = runAt ?? new Date(Math.max(now, end - lead))
    await this.queue.enqueue('webhook.renew', { endpointId, expiresAt, ...(attempt ? { attempt } : {}) }, { runAt: new Date(Date.now() + (at.getTime() - now)), jobKey: renewalKey(endpointId), maxAttempts: 3 })
  }

  /**
   * The `webhook.renew` job: calls the method's updateMethod (createMethod when it has none) with
   * `{{Webhook_Id}}` and `{{Webhook_Url}}`; the response may give a new id and expiry, and the next
   * renewal is scheduled. A job that is out of date (the subscription was deleted or renewed since,
   * the cycle is not active) does nothing. A failure is retried while there is time (up to 3
   * attempts); then it is an incident and `failed` is returned (the engine puts the cycle in error).
   */
  async renew(payload: { endpointId: string; expiresAt: string; attempt?: number }): Promise<{ failed: string; cycleId: string } | undefined> {
    const r = await this.store.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', payload.endpointId).executeTakeFirst()
    if (!r?.subscription_id || r.subscription_expires_at !== payload.expiresAt) return undefined
    const cycle = await this.store.cycles.getById(r.cycle_id)
    const step = cycle && (await this.store.cycles.steps(cycle.id)).find((s) => s.id === r.step_id)
    if (!cycle || !step || cycle.status !== 'active') return undefined
    const method = await this.webhookMethod(step)
    const renewWith = method?.webhook?.updateMethod ?? method?.webhook?.createMethod
    if (!method || !renewWith) return undefined
    const endpoint: WebhookEndpoint = { id: r.id, cycleId: r.cycle_id, stepId: r.step_id, subscriptionId: r.subscription_id, subscriptionExpiresAt: r.subscription_expires_at }
    let message: string
    try {
      const body = await this.#call(cycle, step, renewWith, endpoint)
      const location = method.webhook?.webhookIdLocation ?? 'id'
      const id = compilePath(location).get(body)
      const subscriptionId = id === undefined || id === null || id === '' || typeof id === 'object' ? r.subscription_id : String(id)
      const expiresAt = this.#expiry(method, body)
      await this.setSubscription(r.id, subscriptionId, expiresAt)
      if (expiresAt) await this.#scheduleRenewal(r.id, expiresAt)
      return undefined
    } catch (err) {
      message = `the webhook subscription renewal (${renewWith}) failed: ${describeError(err).message}`
    }
    const attempt = payload.attempt ?? 1
    const left = Date.parse(payload.expiresAt) - this.clock.now().getTime()
    const wait = Math.min(60_000 * attempt, left / 3)
    if (attempt < 3 && wait >= 1000) {
      await this.#scheduleRenewal(r.id, payload.expiresAt, attempt + 1, new Date(this.clock.now().getTime() + wait))
      return undefined
    }
    await this.store.db.insertInto('incidents').values({ id: newId('inc'), partner_id: cycle.partnerId, cycle_id: cycle.id, transaction_id: null, step_key: step.key, level: 'error', message: 'The webhook subscription renewal failed', detail: message, at: this.clock.now().toISOString() }).execute()
    return { failed: message, cycleId: cycle.id }
  }

  async #call(cycle: Cycle, step: CycleStep, methodId: string, endpoint: WebhookEndpoint): Promise<unknown> {
    if (!this.opts.invoker) throw new Error('no method invoker')
    if (!step.accountConnectorId) throw new Error('the step has no account connector')
    const account = await this.store.accounts.get(cycle.partnerId, cycle.accountId)
    const parameters = Object.fromEntries(Object.entries(step.userValues).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, String(v)]))
    const pages = this.opts.invoker.pages({
      partnerId: cycle.partnerId,
      accountId: cycle.accountId,
      accountConnectorId: step.accountConnectorId,
      connectorId: step.connector!.connectorId,
      releaseId: step.connector!.releaseId!,
      methodId,
      parameters,
      fields: {},
      builtIns: { Webhook_Url: this.url(endpoint.id), Webhook_Id: endpoint.subscriptionId ?? '', AccountId: cycle.accountId, ExternalAccountId: account?.externalId ?? '', CycleId: cycle.id, TransactionId: '' },
      maxPages: 1,
    })
    for await (const page of pages) return (page as { body?: unknown }).body
    return undefined
  }

  /** The webhook method of a trigger step, or undefined when the step is not a webhook trigger. */
  async webhookMethod(step: CycleStep | undefined): Promise<Method | undefined> {
    if (!step?.connector?.releaseId) return undefined
    const release = await this.store.releases.get(step.connector.connectorId, step.connector.releaseId)
    const method = release && findMethod({ releaseId: release.id, connectorId: release.connectorId, definition: release.definition }, step.connector.methodId)
    return method?.type === 'webhook' ? method : undefined
  }

  /**
   * A delivery to `POST /hooks/:webhookId`. Unknown id → 404; a cycle that is not active → 410
   * (nothing is recorded, nothing runs). Otherwise the delivery, its transactions (one per record)
   * and their jobs are committed together, then the caller is answered.
   */
  async receive(webhookId: string, input: DeliveryInput): Promise<DeliveryOutcome> {
    const cached = this.#targets.get(webhookId)
    let target = cached && Date.now() - cached.at < TARGET_TTL_MS ? cached : await this.#loadTarget(webhookId)
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#receiveAt(target, input)
      } catch (err) {
        if (!(err instanceof StaleTarget) || attempt >= 3) throw err
        // The cycle changed since the target was read: again from the database (404, 410 or the new routing).
        target = await this.#loadTarget(webhookId)
      }
    }
  }

  async #receiveAt(target: Target, input: DeliveryInput): Promise<DeliveryOutcome> {
    let parsed = parseDelivery(input)
    let ignored: string | undefined
    if (target.scripted && this.opts.scripts) {
      const out = await this.#runScripts(target.sources, { partnerId: target.partnerId, accountId: target.accountId, cycleId: target.cycleId, stepId: target.stepId }, this.url(target.endpointId), parsed, input.headers ?? {})
      if (out.reply) return { id: '', status: 'ignored', transactions: 0, reply: out.reply }
      parsed = out.body
      ignored = out.ignored
    }
    const selector = target.selector
    let records: Array<Record<string, unknown>> = []
    try {
      if (!ignored) records = selector.shape(selector.select(parsed), 0)
    } catch (err) {
      throw fail('BAD_REQUEST', `the delivery does not fit the webhook method's fields: ${(err as Error).message}`)
    }
    const at = this.clock.now().toISOString()
    const rows: TransactionsTable[] = records.map((record) => transactionRow(target.partnerId, target.cycleId, target.stepKey, record, at))
    const delivery: WebhookDeliveriesTable = {
      id: newId('whd'),
      partner_id: target.partnerId,
      connector_id: target.connectorId,
      cycle_id: target.cycleId,
      endpoint_id: target.endpointId,
      parent_id: null,
      dedupe_key: null,
      status: rows.length ? 'accepted' : 'ignored',
      content_type: input.contentType,
      body: input.body.toString('utf8'),
      transactions: rows.length,
      detail: ignored ?? (rows.length ? null : 'no records in the delivery'),
      received_at: at,
    }
    await this.#commit({ deliveries: [delivery], transactions: rows, target })
    return { id: delivery.id, status: delivery.status, transactions: rows.length }
  }

  /** The endpoint's routing from the database: 404 (unknown, deleted, not a webhook step), 410 (not active). */
  async #loadTarget(webhookId: string, db: Kysely<DB> = this.store.db): Promise<Target> {
    this.#targets.delete(webhookId)
    const gone = () => notFound('webhook', webhookId.slice(0, 8) + '…')
    const row = await this.#targetRow(db, webhookId)
    if (!row) throw gone()
    if (row.status !== 'active') throw fail('WEBHOOK_INACTIVE', `the cycle of this webhook is ${row.status}; the delivery was not accepted`)
    if (!row.connector_id || !row.release_id || !row.method_id || row.release_stamp === null) throw gone()
    const release = await this.#release(row.connector_id, row.release_id, row.release_stamp)
    const method = release && findMethod({ releaseId: release.id, connectorId: release.connectorId, definition: release.definition }, row.method_id)
    if (!release || method?.type !== 'webhook') throw gone()
    const sources = { connector: release.definition.script ?? null, method: method.script ?? null }
    const target: Target = {
      endpointId: webhookId,
      cycleId: row.cycle_id,
      partnerId: row.partner_id,
      accountId: row.account_id,
      stepId: row.step_id,
      stepKey: row.step_key,
      connectorId: row.connector_id,
      releaseId: row.release_id,
      methodId: row.method_id,
      releaseStamp: row.release_stamp,
      method,
      selector: this.#selector(`${release.id}@${row.release_stamp}`, method),
      sources,
      scripted: WEBHOOK_EVENT.test(`${sources.connector ?? ''}\n${sources.method ?? ''}`),
      at: Date.now(),
    }
    if (this.#targets.size >= MAX_TARGETS) this.#targets.clear()
    this.#targets.set(webhookId, target)
    return target
  }

  #targetRow(db: Kysely<DB>, webhookId: string): Promise<TargetRow | undefined> {
    const text = this.#sql('target', () =>
      'select e.cycle_id, e.step_id, c.status, c.partner_id, c.account_id, s.step_key, s.connector_id, s.release_id, s.method_id, r.updated_at as release_stamp ' +
      'from webhook_endpoints e join cycles c on c.id = e.cycle_id join cycle_steps s on s.id = e.step_id left join releases r on r.id = s.release_id ' +
      `where e.id = ${this.#placeholder(1)}`,
    )
    return db.executeQuery<TargetRow>(CompiledQuery.raw(text, [webhookId])).then((r) => r.rows[0])
  }

  /** A release parsed once per `id@updated_at`. */
  #release(connectorId: string, releaseId: string, stamp: string): Promise<Release | undefined> {
    const key = `${releaseId}@${stamp}`
    let r = this.#releases.get(key)
    if (!r) {
      if (this.#releases.size >= 200) this.#releases.clear()
      r = this.store.releases.get(connectorId, releaseId)
      r.catch(() => this.#releases.delete(key))
      this.#releases.set(key, r)
    }
    return r
  }

  /**
   * `before_webhook` then `after_webhook` (SPEC §4) of the given script sources, each only when a
   * level handles it: `reply` when before_webhook returned false (the caller gets that answer),
   * `ignored` when after_webhook returned false; `body` is what the scripts left as the body.
   * A script that fails is a 400 and nothing is recorded. `account` absent: a partner-level run
   * (the singular URL's before_webhook, which runs before the routing and has no account).
   */
  async #runScripts(
    sources: { connector: string | null; method: string | null },
    where: { partnerId: string; accountId?: string; cycleId?: string; stepId?: string },
    endpoint: string,
    parsed: unknown,
    rawHeaders: NonNullable<DeliveryInput['headers']>,
    events: { before: boolean; after: boolean } = { before: true, after: true },
  ): Promise<{ reply?: DeliveryOutcome['reply']; body: unknown; ignored?: string }> {
    if (!this.opts.scripts) return { body: parsed }
    const account = where.accountId ? await this.store.accounts.get(where.partnerId, where.accountId) : undefined
    const { EventDispatcher } = await import('../scripting/index.js')
    const dispatcher = new EventDispatcher(await this.opts.scripts(), {
      sources,
      isolationKey: `${where.partnerId}/${where.accountId ?? '-'}`,
      ids: { accountId: where.accountId ?? null, externalAccountId: account?.externalId ?? null, cycleId: where.cycleId ?? null, cycleStepId: where.stepId ?? null },
    })
    const headers = Object.fromEntries(Object.entries(rawHeaders).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]))
    const scriptFailed = (event: string, r: { kind: string; error?: { message: string } }) => (r.kind === 'error' ? fail('BAD_REQUEST', `the ${event} script failed: ${r.error?.message ?? 'error'}`) : undefined)
    let body = parsed
    if (events.before && dispatcher.handles('before_webhook')) {
      const out = await dispatcher.beforeWebhook({ endpoint, headers, parameters: {}, body })
      const err = scriptFailed('before_webhook', out.result)
      if (err) throw err
      if (out.result.kind === 'false') return { reply: out.response, body }
      body = out.request.body
    }
    if (events.after && dispatcher.handles('after_webhook')) {
      const out = await dispatcher.afterWebhook(body, headers)
      const err = scriptFailed('after_webhook', out.result)
      if (err) throw err
      body = out.body
      if (out.result.kind === 'false') return { body, ignored: 'after_webhook returned false' }
    }
    return { body }
  }

  #placeholder(n: number): string {
    return this.store.database.dialect === 'postgres' ? `$${n}` : '?'
  }

  #sql(key: string, make: () => string): string {
    let text = this.#sqlText.get(key)
    if (text === undefined) {
      text = make()
      this.#sqlText.set(key, text)
    }
    return text
  }

  /**
   * Multi-row INSERT with SQL text made once per (table, row count); row counts are powers of two
   * (a batch is cut into 128, 64, …, 1 rows), so a handful of prepared statements serve any batch.
   */
  async #insertRows(db: Kysely<DB>, table: string, columns: readonly string[], rows: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    let i = 0
    while (i < rows.length) {
      let n = 128
      while (n > rows.length - i) n >>= 1
      const text = this.#sql(`${table}:${n}`, () => {
        const cols = columns.map((c) => `"${c}"`).join(', ')
        const tuples: string[] = []
        for (let r = 0; r < n; r++) tuples.push(`(${columns.map((_, c) => this.#placeholder(r * columns.length + c + 1)).join(', ')})`)
        return `insert into "${table}" (${cols}) values ${tuples.join(', ')}`
      })
      const params: unknown[] = []
      for (let r = i; r < i + n; r++) for (const c of columns) params.push(rows[r]![c] ?? null)
      await db.executeQuery(CompiledQuery.raw(text, params))
      i += n
    }
  }

  /**
   * A delivery to the singular partner URL `POST /hooks/partners/:pid/connectors/:cid` (release
   * setting useSingularPartnerWebhookUrl). Signature (401, nothing recorded), de-duplication, then
   * routing: the key (body path or header) is matched with an account connector property or the
   * account's externalId; every active cycle of the matched account connectors whose trigger is a
   * webhook method of this connector (and whose eventType, if declared, matches) gets its
   * transactions. The partner-level row keeps the body; one row per routed cycle points to it.
   * Nothing matched: the delivery is kept as `unmatched`. All of it is one database transaction.
   */
  async receivePartner(partnerId: string, connectorId: string, input: DeliveryInput): Promise<DeliveryOutcome> {
    const connector = await this.store.connectors.getVisible(partnerId, connectorId)
    // The connector's releases by id with their updated_at: each is parsed once per `id@updated_at`.
    const stamps = new Map(connector ? (await this.store.db.selectFrom('releases').select(['id', 'state', 'updated_at']).where('connector_id', '=', connectorId).execute()).map((r) => [r.id, r]) : [])
    const liveRow = [...stamps.values()].find((r) => r.state === 'live')
    const live = liveRow && (await this.#release(connectorId, liveRow.id, liveRow.updated_at))
    const routing = live?.definition.webhookRouting
    if (!live || !routing || live.settings.useSingularPartnerWebhookUrl !== true) throw notFound('partner webhook URL for connector', connectorId)
    const headers = input.headers ?? {}
    if (routing.signature) await this.#checkSignature(partnerId, connectorId, routing.signature, input.body, headers)
    let parsed = parseDelivery(input)
    // before_webhook of the live release's connector-level script: once per delivery, before the
    // routing (it can answer the caller itself, e.g. a handshake, or change what is routed).
    const liveScript = live.definition.script ?? null
    if (this.opts.scripts && liveScript && /\bbefore_webhook\b/.test(liveScript)) {
      const out = await this.#runScripts({ connector: liveScript, method: null }, { partnerId }, this.partnerUrl(partnerId, connectorId), parsed, headers, { before: true, after: false })
      if (out.reply) return { id: '', status: 'ignored', transactions: 0, reply: out.reply }
      parsed = out.body
    }
    const dedupeKey = routing.dedupe ? readValue(routing.dedupe, parsed, headers) : undefined
    if (dedupeKey !== undefined) {
      const seen = await this.#duplicate(partnerId, connectorId, dedupeKey)
      if (seen) return seen
    }
    const key = readValue(routing.key, parsed, headers)
    const acIds = key === undefined ? [] : await this.#route(partnerId, connectorId, routing, key)

    const at = this.clock.now().toISOString()
    const parent: WebhookDeliveriesTable = { id: newId('whd'), partner_id: partnerId, connector_id: connectorId, cycle_id: null, endpoint_id: null, parent_id: null, dedupe_key: dedupeKey ?? null, status: 'unmatched', content_type: input.contentType, body: input.body.toString('utf8'), transactions: 0, detail: null, received_at: at }
    const children: WebhookDeliveriesTable[] = []
    const txRows: TransactionsTable[] = []
    const acSet = new Set(acIds)
    for (const { cycle, step } of await this.store.cycles.stepsUsingConnector(partnerId, connectorId)) {
      if (step.position !== 0 || cycle.status !== 'active' || !step.accountConnectorId || !acSet.has(step.accountConnectorId)) continue
      const stamp = step.connector?.releaseId ? stamps.get(step.connector.releaseId)?.updated_at : undefined
      const release = stamp ? await this.#release(connectorId, step.connector!.releaseId!, stamp) : undefined
      const found = release && findMethod({ releaseId: release.id, connectorId: release.connectorId, definition: release.definition }, step.connector!.methodId)
      const method = found?.type === 'webhook' ? found : undefined
      if (!release || !method || !eventMatches(method, parsed, headers)) continue
      // after_webhook of the step's release (connector level and the method's): per routed cycle,
      // with its account and cycle; it can filter (ignored) or change this cycle's records.
      let body = parsed
      let ignored: string | undefined
      const sources = { connector: release.definition.script ?? null, method: method.script ?? null }
      if (this.opts.scripts && /\bafter_webhook\b/.test(`${sources.connector ?? ''}\n${sources.method ?? ''}`)) {
        const out = await this.#runScripts(sources, { partnerId, accountId: cycle.accountId, cycleId: cycle.id, stepId: step.id }, this.partnerUrl(partnerId, connectorId), parsed, headers, { before: false, after: true })
        body = out.body
        ignored = out.ignored
      }
      const selector = this.#selector(`${release.id}@${release.updatedAt}`, method)
      let records: Array<Record<string, unknown>> = []
      try {
        if (!ignored) records = selector.shape(selector.select(body), 0)
      } catch (err) {
        throw fail('BAD_REQUEST', `the delivery does not fit the webhook method's fields: ${(err as Error).message}`)
      }
      for (const record of records) txRows.push(transactionRow(partnerId, cycle.id, step.key, record, at))
      children.push({ ...parent, id: newId('whd'), cycle_id: cycle.id, parent_id: parent.id, dedupe_key: null, status: records.length ? 'accepted' : 'ignored', body: '', transactions: records.length, detail: ignored ?? (records.length ? null : 'no records in the delivery') })
    }
    parent.transactions = txRows.length
    parent.status = children.length ? (txRows.length ? 'accepted' : 'ignored') : 'unmatched'
    parent.detail = children.length ? `routed to ${children.length} cycle(s)` : key === undefined ? 'no routing key in the delivery' : `no active cycle matches routing key "${key}"`
    try {
      await this.#commit({ deliveries: [parent, ...children], transactions: txRows })
    } catch (err) {
      // The same id delivered twice at once: the other request recorded it.
      const seen = dedupeKey !== undefined ? await this.#duplicate(partnerId, connectorId, dedupeKey) : undefined
      if (seen) return seen
      throw err
    }
    return { id: parent.id, status: parent.status, cycles: children.length, transactions: txRows.length }
  }

  /**
   * Group commit: deliveries arriving together are written in one database transaction (with
   * their transactions and jobs), and each caller is answered only after that commit. If a batch
   * fails, its deliveries are retried one by one, so only the faulty one fails.
   */
  #commit(item: Omit<PendingCommit, 'resolve' | 'reject'>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ ...item, resolve, reject })
      this.#draining ??= this.#drain().finally(() => {
        this.#draining = undefined
      })
    })
  }

  async #drain(): Promise<void> {
    await new Promise((r) => setImmediate(r))
    while (this.#pending.length) {
      const batch = this.#pending.splice(0, 500)
      try {
        await this.#write(batch)
        for (const b of batch) b.resolve()
      } catch (err) {
        if (batch.length === 1) batch[0]!.reject(err)
        else
          for (const b of batch) {
            try {
              await this.#write([b])
              b.resolve()
            } catch (e) {
              b.reject(e)
            }
          }
      }
    }
  }

  async #write(batch: PendingCommit[]): Promise<void> {
    const deliveries: WebhookDeliveriesTable[] = []
    const transactions: TransactionsTable[] = []
    for (const b of batch) {
      for (const d of b.deliveries) deliveries.push(d)
      for (const t of b.transactions) transactions.push(t)
    }
    await this.store.db.transaction().execute(async (db) => {
      await this.#checkTargets(db, batch)
      await this.#insertRows(db, 'webhook_deliveries', DELIVERY_COLUMNS, deliveries as unknown as Array<Record<string, unknown>>)
      await this.#insertRows(db, 'transactions', TRANSACTION_COLUMNS, transactions as unknown as Array<Record<string, unknown>>)
      // No job key: the transaction ids are new, so there is nothing to de-duplicate (and key-less
      // jobs are written with multi-row inserts).
      if (transactions.length) await this.queue.enqueueMany(transactions.map((r) => ({ task: 'transaction.run' as const, payload: { transactionId: r.id }, maxAttempts: 5 })), { tx: db })
    })
  }

  /**
   * Inside the commit: the cached targets of the batch are re-read (once per endpoint). One that
   * is out of date (cycle no longer active, trigger step changed) fails with StaleTarget, which
   * re-does that delivery from the database; the others of the batch are then retried alone.
   */
  async #checkTargets(db: Kysely<DB>, batch: PendingCommit[]): Promise<void> {
    let seen: Map<string, Target> | undefined
    for (const b of batch) {
      const t = b.target
      if (!t || seen?.get(t.endpointId) === t) continue
      const row = await this.#targetRow(db, t.endpointId)
      const fresh = row && row.status === 'active' && row.cycle_id === t.cycleId && row.step_id === t.stepId && row.step_key === t.stepKey && row.release_id === t.releaseId && row.method_id === t.methodId && row.release_stamp === t.releaseStamp
      if (!fresh) {
        if (this.#targets.get(t.endpointId) === t) this.#targets.delete(t.endpointId)
        throw new StaleTarget(`webhook ${t.endpointId.slice(0, 8)}… changed`)
      }
      ;(seen ??= new Map()).set(t.endpointId, t)
    }
  }

  async #duplicate(partnerId: string, connectorId: string, dedupeKey: string): Promise<DeliveryOutcome | undefined> {
    const r = await this.store.db.selectFrom('webhook_deliveries').select(['id', 'status', 'transactions']).where('partner_id', '=', partnerId).where('connector_id', '=', connectorId).where('dedupe_key', '=', dedupeKey).executeTakeFirst()
    return r && { id: r.id, status: r.status, transactions: 0, duplicate: true }
  }

  async #checkSignature(partnerId: string, connectorId: string, sig: NonNullable<WebhookRouting['signature']>, body: Buffer, headers: NonNullable<DeliveryInput['headers']>): Promise<void> {
    const secret = (await this.opts.partnerProperties?.(partnerId, connectorId))?.[sig.secretProperty]
    const given = header(headers, sig.header)
    const bad = (why: string) => fail('WEBHOOK_SIGNATURE_INVALID', `the delivery's signature ${why}; nothing was recorded`)
    if (!secret) throw bad(`cannot be checked: the partner property ${sig.secretProperty} is not set`)
    if (!given) throw bad(`header ${sig.header} is missing`)
    const expected = Buffer.from((sig.prefix ?? '') + createHmac(sig.algorithm, secret).update(body).digest(sig.encoding ?? 'hex'))
    const actual = Buffer.from(given.trim())
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw bad('does not match')
  }

  async #route(partnerId: string, connectorId: string, routing: WebhookRouting, key: string): Promise<string[]> {
    let q = this.store.db.selectFrom('account_connectors').select(['id', 'account_id', 'properties']).where('partner_id', '=', partnerId).where('connector_id', '=', connectorId)
    if (routing.match.externalId) {
      const account = await this.store.accounts.getByExternalId(partnerId, key)
      if (!account) return []
      q = q.where('account_id', '=', account.id)
      return (await q.execute()).map((r) => r.id)
    }
    const property = routing.match.property
    if (!property) return []
    return (await q.execute()).filter((r) => String((JSON.parse(r.properties) as Record<string, unknown>)[property] ?? '') === key).map((r) => r.id)
  }

  /** A cycle's deliveries, newest first. */
  async listForCycle(partnerId: string, cycleId: string, opts: { limit: number; before?: string }): Promise<DeliveryView[]> {
    let q = this.store.db.selectFrom('webhook_deliveries').selectAll().where('partner_id', '=', partnerId).where('cycle_id', '=', cycleId)
    if (opts.before) q = q.where('id', '<', opts.before)
    return (await q.orderBy('id', 'desc').limit(opts.limit).execute()).map(toView)
  }

  /** A connector's deliveries (every cycle, and the unmatched ones), newest first. */
  async listForConnector(partnerId: string, connectorId: string, opts: { limit: number; before?: string; status?: WebhookDeliveriesTable['status'] }): Promise<DeliveryView[]> {
    let q = this.store.db.selectFrom('webhook_deliveries').selectAll().where('partner_id', '=', partnerId).where('connector_id', '=', connectorId).where('parent_id', 'is', null)
    if (opts.before) q = q.where('id', '<', opts.before)
    if (opts.status) q = q.where('status', '=', opts.status)
    return (await q.orderBy('id', 'desc').limit(opts.limit).execute()).map(toView)
  }

  #selector(releaseKey: string, method: Method): RecordSelector {
    const key = `${releaseKey}:${method.id}`
    let s = this.#selectors.get(key)
    if (!s) {
      if (this.#selectors.size >= 1000) this.#selectors.clear()
      s = compileRecordSelector(method.records, method.response?.fields ?? [])
      this.#selectors.set(key, s)
    }
    return s
  }
}

/** JSON, form, XML or text by Content-Type; malformed JSON/XML is a 400. A text body is `{body}`. */
export function parseDelivery(input: DeliveryInput): unknown {
  const format = formatOf(input.contentType) ?? 'text'
  try {
    const parsed = parseResponseBody(input.body, input.contentType, format, { url: '/hooks', method: 'POST', secrets: [] })
    return typeof parsed === 'string' ? { body: parsed } : (parsed ?? {})
  } catch (err) {
    throw fail('BAD_REQUEST', `the delivery body is malformed: ${(err as { reason?: string }).reason ?? (err as Error).message}`)
  }
}

function header(headers: NonNullable<DeliveryInput['headers']>, name: string): string | undefined {
  const v = headers[name.toLowerCase()]
  return Array.isArray(v) ? v[0] : v
}

/** A value from a header or a body path, as text; absent or empty is undefined. */
function readValue(where: { location?: string; header?: string }, body: unknown, headers: NonNullable<DeliveryInput['headers']>): string | undefined {
  const v = where.header ? header(headers, where.header) : where.location ? compilePath(where.location).get(body) : undefined
  return v === undefined || v === null || v === '' || typeof v === 'object' ? undefined : String(v)
}

/** A webhook method without an eventType takes every delivery; with one, only the listed types. */
function eventMatches(method: Method, body: unknown, headers: NonNullable<DeliveryInput['headers']>): boolean {
  const ev = method.webhook?.eventType
  if (!ev) return true
  const value = readValue(ev, body, headers)
  return value !== undefined && ev.values.includes(value)
}

/** A queued transaction of one record: the trigger step's output is the record. */
function transactionRow(partnerId: string, cycleId: string, stepKey: string, record: Record<string, unknown>, at: string): TransactionsTable {
  return {
    id: newId('txn'),
    partner_id: partnerId,
    cycle_id: cycleId,
    status: 'queued',
    trigger_data: JSON.stringify(record),
    state: JSON.stringify({ outputs: { [stepKey]: record } }),
    next_step: 1,
    step_attempts: 0,
    error: null,
    created_at: at,
    started_at: null,
    finished_at: null,
  }
}

// Webhooks (SPEC §6): each webhook trigger step has an unguessable endpoint; a delivery to it is
// parsed (JSON, form, XML, text), split into one transaction per record of the webhook method's
// `records` location, and written with its transactions and their `transaction.run` jobs in ONE
// database transaction before the caller gets its 2xx: nothing acknowledged is lost.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
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
import type { TransactionsTable, WebhookDeliveriesTable } from '../store/tables.js'

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
  resolve(): void
  reject(err: unknown): void
}

const WEBHOOK_EVENT = /\b(before_webhook|after_webhook)\b/

/** 32 random bytes: the URL is the only credential a third party needs, so it cannot be guessed. */
export const newWebhookId = () => `wh_${randomBytes(32).toString('base64url')}`

export class WebhookService {
  readonly #selectors = new Map<string, RecordSelector>()
  readonly #pending: PendingCommit[] = []
  #draining: Promise<void> | undefined

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
    const expiresAt = method.webhook?.expiresAfterSeconds ? new Date(this.clock.now().getTime() + method.webhook.expiresAfterSeconds * 1000).toISOString() : null
    await this.setSubscription(endpoint.id, String(id), expiresAt)
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
    if (!del) return undefined
    try {
      await this.#call(cycle, step, del, endpoint)
      return { ok: true }
    } catch (err) {
      return { ok: false, message: `the webhook unsubscription (${del}) failed: ${describeError(err).message}` }
    }
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
    const endpoint = await this.store.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', webhookId).executeTakeFirst()
    if (!endpoint) throw notFound('webhook', webhookId.slice(0, 8) + '…')
    const cycle = await this.store.cycles.getById(endpoint.cycle_id)
    if (!cycle) throw notFound('webhook', webhookId.slice(0, 8) + '…')
    if (cycle.status !== 'active') throw fail('WEBHOOK_INACTIVE', `the cycle of this webhook is ${cycle.status}; the delivery was not accepted`)
    const step = (await this.store.cycles.steps(cycle.id)).find((s) => s.id === endpoint.step_id)
    const method = await this.webhookMethod(step)
    if (!step || !method) throw notFound('webhook', webhookId.slice(0, 8) + '…')

    let parsed = parseDelivery(input)
    let ignored: string | undefined
    const release = await this.store.releases.get(step.connector!.connectorId, step.connector!.releaseId!)
    const sources = { connector: release?.definition.script ?? null, method: method.script ?? null }
    if (this.opts.scripts && WEBHOOK_EVENT.test(`${sources.connector ?? ''}\n${sources.method ?? ''}`)) {
      const account = await this.store.accounts.get(cycle.partnerId, cycle.accountId)
      const { EventDispatcher } = await import('../scripting/index.js')
      const dispatcher = new EventDispatcher(await this.opts.scripts(), {
        sources,
        isolationKey: `${cycle.partnerId}/${cycle.accountId}`,
        ids: { accountId: cycle.accountId, externalAccountId: account?.externalId ?? null, cycleId: cycle.id, cycleStepId: step.id },
      })
      const headers = Object.fromEntries(Object.entries(input.headers ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]))
      const scriptFailed = (event: string, r: { kind: string; error?: { message: string } }) => r.kind === 'error' ? fail('BAD_REQUEST', `the ${event} script failed: ${r.error?.message ?? 'error'}`) : undefined
      if (dispatcher.handles('before_webhook')) {
        const out = await dispatcher.beforeWebhook({ endpoint: this.url(endpoint.id), headers, parameters: {}, body: parsed })
        const err = scriptFailed('before_webhook', out.result)
        if (err) throw err
        if (out.result.kind === 'false') return { id: '', status: 'ignored', transactions: 0, reply: out.response }
        parsed = out.request.body
      }
      if (dispatcher.handles('after_webhook')) {
        const out = await dispatcher.afterWebhook(parsed, headers)
        const err = scriptFailed('after_webhook', out.result)
        if (err) throw err
        if (out.result.kind === 'false') ignored = 'after_webhook returned false'
        parsed = out.body
      }
    }
    const selector = this.#selector(step.connector!.releaseId!, method)
    let records: Array<Record<string, unknown>> = []
    try {
      if (!ignored) records = selector.shape(selector.select(parsed), 0)
    } catch (err) {
      throw fail('BAD_REQUEST', `the delivery does not fit the webhook method's fields: ${(err as Error).message}`)
    }
    const at = this.clock.now().toISOString()
    const rows = records.map((record) => ({
      id: newId('txn'),
      partner_id: cycle.partnerId,
      cycle_id: cycle.id,
      status: 'queued' as const,
      trigger_data: JSON.stringify(record),
      state: JSON.stringify({ outputs: { [step.key]: record } }),
      next_step: 1,
      step_attempts: 0,
      error: null,
      created_at: at,
      started_at: null,
      finished_at: null,
    }))
    const delivery: WebhookDeliveriesTable = {
      id: newId('whd'),
      partner_id: cycle.partnerId,
      connector_id: step.connector!.connectorId,
      cycle_id: cycle.id,
      endpoint_id: endpoint.id,
      parent_id: null,
      dedupe_key: null,
      status: rows.length ? 'accepted' : 'ignored',
      content_type: input.contentType,
      body: input.body.toString('utf8'),
      transactions: rows.length,
      detail: ignored ?? (rows.length ? null : 'no records in the delivery'),
      received_at: at,
    }
    await this.#commit({ deliveries: [delivery], transactions: rows })
    return { id: delivery.id, status: delivery.status, transactions: rows.length }
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
    const live = connector && (await this.store.releases.getByState(connectorId, 'live'))
    const routing = live?.definition.webhookRouting
    if (!live || !routing || live.settings.useSingularPartnerWebhookUrl !== true) throw notFound('partner webhook URL for connector', connectorId)
    const headers = input.headers ?? {}
    if (routing.signature) await this.#checkSignature(partnerId, connectorId, routing.signature, input.body, headers)
    const parsed = parseDelivery(input)
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
    const txRows: Array<Record<string, unknown> & { id: string }> = []
    const acSet = new Set(acIds)
    for (const { cycle, step } of await this.store.cycles.stepsUsingConnector(partnerId, connectorId)) {
      if (step.position !== 0 || cycle.status !== 'active' || !step.accountConnectorId || !acSet.has(step.accountConnectorId)) continue
      const method = await this.webhookMethod(step)
      if (!method || !eventMatches(method, parsed, headers)) continue
      const selector = this.#selector(step.connector!.releaseId!, method)
      let records: Array<Record<string, unknown>>
      try {
        records = selector.shape(selector.select(parsed), 0)
      } catch (err) {
        throw fail('BAD_REQUEST', `the delivery does not fit the webhook method's fields: ${(err as Error).message}`)
      }
      for (const record of records) {
        txRows.push({ id: newId('txn'), partner_id: partnerId, cycle_id: cycle.id, status: 'queued', trigger_data: JSON.stringify(record), state: JSON.stringify({ outputs: { [step.key]: record } }), next_step: 1, step_attempts: 0, error: null, created_at: at, started_at: null, finished_at: null })
      }
      children.push({ ...parent, id: newId('whd'), cycle_id: cycle.id, parent_id: parent.id, dedupe_key: null, status: records.length ? 'accepted' : 'ignored', body: '', transactions: records.length, detail: records.length ? null : 'no records in the delivery' })
    }
    parent.transactions = txRows.length
    parent.status = children.length ? (txRows.length ? 'accepted' : 'ignored') : 'unmatched'
    parent.detail = children.length ? `routed to ${children.length} cycle(s)` : key === undefined ? 'no routing key in the delivery' : `no active cycle matches routing key "${key}"`
    try {
      await this.#commit({ deliveries: [parent, ...children], transactions: txRows as never })
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
    const deliveries = batch.flatMap((b) => b.deliveries)
    const transactions = batch.flatMap((b) => b.transactions)
    await this.store.db.transaction().execute(async (db) => {
      for (let i = 0; i < deliveries.length; i += 200) await db.insertInto('webhook_deliveries').values(deliveries.slice(i, i + 200)).execute()
      for (let i = 0; i < transactions.length; i += 200) await db.insertInto('transactions').values(transactions.slice(i, i + 200)).execute()
      if (transactions.length) await this.queue.enqueueMany(transactions.map((r) => ({ task: 'transaction.run' as const, payload: { transactionId: r.id }, jobKey: `tx:${r.id}`, maxAttempts: 5 })), { tx: db })
    })
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

  #selector(releaseId: string, method: Method): RecordSelector {
    const key = `${releaseId}:${method.id}`
    let s = this.#selectors.get(key)
    if (!s) {
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

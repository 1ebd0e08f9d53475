// Row types of every table. Booleans are 0/1 integers, dates ISO-8601 text, JSON is text:
// the same representation on SQLite and PostgreSQL. Conversion happens in the repositories.
export interface PartnersTable {
  id: string
  name: string
  allow_custom_connectors: number
  max_custom_connectors: number | null
  enable_beta_connectors: number
  created_at: string
  /** Where the OAuth2 callback sends the user's browser back to (accounts). */
  oauth_return_url: string | null
}

export interface ApiKeysTable {
  id: string
  partner_id: string
  key_hash: string
  key_prefix: string
  created_at: string
  revoked_at: string | null
}

export interface ConnectorsTable {
  id: string
  /** null for the built-in public library */
  partner_id: string | null
  name: string
  description: string | null
  api_version: string | null
  has_icon: number
  created_at: string
  updated_at: string
}

export interface ReleasesTable {
  id: string
  connector_id: string
  partner_id: string | null
  state: 'draft' | 'live' | 'deprecated'
  version_major: number | null
  version_minor: number | null
  settings: string
  definition: string
  has_icon: number
  created_at: string
  updated_at: string
  pushed_at: string | null
  deprecated_at: string | null
  /** migration 0009: deprecated releases only; ISO 8601 UTC */
  sunset_at: string | null
}

export interface IconsTable {
  owner_id: string
  data: Buffer
  created_at: string
}

export interface HistoryTable {
  id: string
  connector_id: string
  partner_id: string | null
  release_id: string | null
  event: string
  version: string | null
  actor: string
  at: string
  details: string | null
}

export interface AccountsTable {
  id: string
  partner_id: string
  name: string
  description: string | null
  external_id: string | null
  timezone: string
  parent_id: string | null
  created_at: string
  updated_at: string
}

export interface AccountConnectorsTable {
  id: string
  partner_id: string
  account_id: string
  connector_id: string
  release_id: string
  name: string | null
  auth_id: string | null
  auth_type: string
  /** Sealed JSON (src/shared/crypto.ts), bound to the row id. */
  auth_values: string | null
  properties: string
  secret_properties: string | null
  hints: string
  authenticated: number
  auth_error: string | null
  authenticated_at: string | null
  token_expires_at: string | null
  created_at: string
  updated_at: string
}

export interface OAuthStatesTable {
  id: string
  partner_id: string
  account_connector_id: string
  redirect_uri: string
  created_at: string
  expires_at: string
  used_at: string | null
}

export interface PartnerConnectorPropertiesTable {
  partner_id: string
  connector_id: string
  properties: string
  secret_properties: string | null
  hints: string
  updated_at: string
}

export interface TemplatesTable {
  id: string
  partner_id: string
  name: string
  description: string | null
  settings: string
  created_at: string
  updated_at: string
}

export interface TemplateStepsTable {
  id: string
  template_id: string
  partner_id: string
  step_key: string
  position: number
  type: string
  connector_id: string | null
  release_id: string | null
  method_id: string | null
  /** the rest of the step (mappings, parameters, script, onError, decision, routes, delay) as JSON */
  config: string
}

export interface CyclesTable {
  id: string
  partner_id: string
  account_id: string
  template_id: string | null
  name: string
  status: 'paused' | 'active' | 'error'
  status_reason: string | null
  interval_minutes: number | null
  start_at: string | null
  run_once: number
  settings: string
  activated_at: string | null
  created_at: string
  updated_at: string
}

export interface CycleStepsTable {
  id: string
  cycle_id: string
  partner_id: string
  step_key: string
  position: number
  type: string
  connector_id: string | null
  release_id: string | null
  method_id: string | null
  account_connector_id: string | null
  config: string
  user_values: string
  last_successful_run_at: string | null
}

export interface TransactionsTable {
  id: string
  partner_id: string
  cycle_id: string
  status: 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'stopped'
  trigger_data: string
  state: string
  next_step: number
  step_attempts: number
  error: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
}

export interface StepRunsTable {
  id: string
  partner_id: string
  cycle_id: string
  transaction_id: string | null
  step_key: string
  status: 'succeeded' | 'failed' | 'ignored' | 'skipped'
  attempt: number
  log: string | null
  error: string | null
  started_at: string
  duration_ms: number
}

export interface IncidentsTable {
  id: string
  partner_id: string
  cycle_id: string
  transaction_id: string | null
  step_key: string | null
  level: 'error' | 'warning'
  message: string
  detail: string | null
  at: string
}

export interface DB {
  webhook_endpoints: WebhookEndpointsTable
  webhook_deliveries: WebhookDeliveriesTable
  cycles: CyclesTable
  cycle_steps: CycleStepsTable
  transactions: TransactionsTable
  step_runs: StepRunsTable
  incidents: IncidentsTable
  templates: TemplatesTable
  template_steps: TemplateStepsTable
  partners: PartnersTable
  api_keys: ApiKeysTable
  connectors: ConnectorsTable
  releases: ReleasesTable
  icons: IconsTable
  connector_history: HistoryTable
  accounts: AccountsTable
  account_connectors: AccountConnectorsTable
  oauth_states: OAuthStatesTable
  partner_connector_properties: PartnerConnectorPropertiesTable
  queue_jobs: QueueJobsTable
  queue_schedules: QueueSchedulesTable
  queue_workers: QueueWorkersTable
  script_storage: ScriptStorageTable
}

// The job queue (migration 0004-jobs). Times are epoch milliseconds, not ISO text: the claim query
// compares them on every poll. `id` is generated by the database.
export interface QueueJobsTable {
  id: import('kysely').Generated<number>
  task: string
  /** JSON */
  payload: string
  queue_name: string | null
  priority: number
  run_at: number
  attempts: number
  max_attempts: number
  status: 'queued' | 'running' | 'failed'
  key: string | null
  locked_by: string | null
  locked_until: number | null
  last_error: string | null
  created_at: number
  updated_at: number
}

export interface QueueSchedulesTable {
  name: string
  task: string
  /** JSON */
  payload: string
  cron: string | null
  timezone: string | null
  every_ms: number | null
  /** JSON: {maxAttempts?, priority?, queueName?} */
  options: string
  next_run_at: number
  last_run_at: number | null
  created_at: number
  updated_at: number
}

export interface QueueWorkersTable {
  id: string
  expires_at: number
  started_at: number
  /** JSON: {hostname, pid} */
  info: string | null
}

// Script key/value storage (migration 0002-script-storage). `cycle_id` is '' for the
// connector-wide scope; `value` is JSON text.
export interface ScriptStorageTable {
  partner_id: string
  account_connector_id: string
  cycle_id: string
  key: string
  value: string
  updated_at: string
}

// Webhooks (migration 0008-webhooks): a webhook trigger step's endpoint (its id is the URL's
// unguessable part) and every delivery received with its outcome.
export interface WebhookEndpointsTable {
  id: string
  partner_id: string
  cycle_id: string
  step_id: string
  subscription_id: string | null
  subscription_expires_at: string | null
  created_at: string
}

export interface WebhookDeliveriesTable {
  id: string
  partner_id: string
  connector_id: string | null
  cycle_id: string | null
  endpoint_id: string | null
  /** singular partner URL: the delivery (with the body) this per-cycle row was routed from */
  parent_id: string | null
  /** the declared de-duplication id (webhookRouting.dedupe) */
  dedupe_key: string | null
  /** accepted: transactions made; ignored: after_webhook or no records; unmatched: no cycle routed */
  status: 'accepted' | 'ignored' | 'unmatched'
  content_type: string
  body: string
  transactions: number
  detail: string | null
  received_at: string
}

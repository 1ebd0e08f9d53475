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

export interface DB {
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
}

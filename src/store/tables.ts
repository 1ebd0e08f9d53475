// Row types of every table. Booleans are 0/1 integers, dates ISO-8601 text, JSON is text:
// the same representation on SQLite and PostgreSQL. Conversion happens in the repositories.
export interface PartnersTable {
  id: string
  name: string
  allow_custom_connectors: number
  max_custom_connectors: number | null
  enable_beta_connectors: number
  created_at: string
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

export interface DB {
  partners: PartnersTable
  api_keys: ApiKeysTable
  connectors: ConnectorsTable
  releases: ReleasesTable
  icons: IconsTable
  connector_history: HistoryTable
}

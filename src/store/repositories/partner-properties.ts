// A partner's property values for one connector (partner-scope parameters, OAuth2 ClientId and
// ClientSecret). Sensitive values are sealed by the service, bound to partner and connector.
import type { Kysely } from 'kysely'
import type { DB } from '../tables.js'
import { Statements } from '../statements.js'

export interface PartnerProperties {
  partnerId: string
  connectorId: string
  properties: Record<string, string>
  sealedProperties: string | null
  hints: Record<string, string>
  updatedAt: string
}

export class PartnerPropertiesRepo {
  readonly #statements = new Statements()
  constructor(private readonly db: Kysely<DB>) {}

  async get(partnerId: string, connectorId: string): Promise<PartnerProperties | undefined> {
    // On every engine method call: compiled once.
    const { rows } = await this.#statements.execute(this.db, 'get', [partnerId, connectorId], (db, v) =>
      db.selectFrom('partner_connector_properties').selectAll().where('partner_id', '=', v[0] as string).where('connector_id', '=', v[1] as string),
    )
    const r = rows[0]
    return (
      r && {
        partnerId: r.partner_id,
        connectorId: r.connector_id,
        properties: JSON.parse(r.properties) as Record<string, string>,
        sealedProperties: r.secret_properties,
        hints: JSON.parse(r.hints) as Record<string, string>,
        updatedAt: r.updated_at,
      }
    )
  }

  async put(p: PartnerProperties): Promise<void> {
    const values = { properties: JSON.stringify(p.properties), secret_properties: p.sealedProperties, hints: JSON.stringify(p.hints), updated_at: p.updatedAt }
    await this.db
      .insertInto('partner_connector_properties')
      .values({ partner_id: p.partnerId, connector_id: p.connectorId, ...values })
      .onConflict((oc) => oc.columns(['partner_id', 'connector_id']).doUpdateSet(values))
      .execute()
  }
}

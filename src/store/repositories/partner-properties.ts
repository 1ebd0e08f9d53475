// A partner's property values for one connector (partner-scope parameters, OAuth2 ClientId and
// ClientSecret). Sensitive values are sealed by the service, bound to partner and connector.
import type { Kysely } from 'kysely'
import type { DB } from '../tables.js'

export interface PartnerProperties {
  partnerId: string
  connectorId: string
  properties: Record<string, string>
  sealedProperties: string | null
  hints: Record<string, string>
  updatedAt: string
}

export class PartnerPropertiesRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async get(partnerId: string, connectorId: string): Promise<PartnerProperties | undefined> {
    const r = await this.db.selectFrom('partner_connector_properties').selectAll().where('partner_id', '=', partnerId).where('connector_id', '=', connectorId).executeTakeFirst()
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

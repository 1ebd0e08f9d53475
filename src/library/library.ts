// The built-in public library, loaded (upserted) at start-up.
import type { ConnectorDefinition, ReleaseSettings } from '../definition/schema.js'
import type { Version } from '../domain/lifecycle.js'
import type { Store } from '../store/store.js'
import { github } from './github.js'

export interface LibraryConnector {
  connector: { id: string; name: string; description: string; apiVersion: string }
  release: { id: string; version: Version; settings: ReleaseSettings; definition: ConnectorDefinition }
}

export const LIBRARY: readonly LibraryConnector[] = [github]

export async function loadLibrary(store: Store, at: string): Promise<void> {
  for (const { connector, release } of LIBRARY) {
    await store.connectors.upsertBuiltIn({ ...connector, hasIcon: false, createdAt: at, updatedAt: at })
    await store.db
      .insertInto('releases')
      .values({
        id: release.id,
        connector_id: connector.id,
        partner_id: null,
        state: 'live',
        version_major: release.version.major,
        version_minor: release.version.minor,
        settings: JSON.stringify(release.settings),
        definition: JSON.stringify(release.definition),
        has_icon: 0,
        created_at: at,
        updated_at: at,
        pushed_at: at,
        deprecated_at: null,
      })
      .onConflict((oc) => oc.column('id').doUpdateSet({ settings: JSON.stringify(release.settings), definition: JSON.stringify(release.definition) }))
      .execute()
    store.releaseLists?.invalidate(connector.id)
  }
}

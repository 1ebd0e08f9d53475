// The published JSON Schema of the definition language (SPEC §2), generated from the TypeBox
// schema so the type, the validator and the document cannot disagree. A committed copy lives at
// schemas/connector-definition.json (regenerate with `npx tsx scripts/write-schema.ts`); a test
// fails when it drifts.
import { ConnectorDefinition } from './schema.js'

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema'

/** Plain JSON (TypeBox's symbol keys dropped), with the dialect TypeBox targets. */
export const connectorDefinitionJsonSchema: Record<string, unknown> = Object.freeze({
  $schema: JSON_SCHEMA_DIALECT,
  ...(JSON.parse(JSON.stringify(ConnectorDefinition)) as Record<string, unknown>),
})

/** The committed file's exact text: 2-space JSON and a final newline. */
export const connectorDefinitionJsonSchemaText = (): string => `${JSON.stringify(connectorDefinitionJsonSchema, null, 2)}\n`

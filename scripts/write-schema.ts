// Regenerates schemas/connector-definition.json from the TypeBox schema:
//   node --import tsx scripts/write-schema.ts
import { writeFileSync } from 'node:fs'
import { connectorDefinitionJsonSchemaText } from '../src/definition/json-schema.js'

const target = new URL('../schemas/connector-definition.json', import.meta.url)
writeFileSync(target, connectorDefinitionJsonSchemaText())
console.log(`wrote ${target.pathname}`)

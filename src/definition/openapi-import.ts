// Creates a connector definition from an OpenAPI 3.0/3.1 or Swagger 2.0 description (JSON or
// YAML): a method per operation, authentications from the security schemes, the base URL from the
// first server. External `$ref`s are never fetched. Everything that could not be mapped is listed in
// the report with a JSON pointer and a reason. The result always validates against the schema.
import { Compile } from 'typebox/compile'
import { fail } from '../errors/errors.js'
import { Authentication, ConnectorDefinition, Method, type ReleaseSettings } from './schema.js'
import { DEFAULT_OPTIONS, ImportContext, isObj, nonEmpty, type ImportReport, type Obj, type OpenApiImportOptions } from './openapi/context.js'
import { oneLine, truncate } from './openapi/names.js'
import { collectOperations, guessAuthTestMethod, mapOperation, newMapState } from './openapi/operations.js'
import { parseOpenApi } from './openapi/parse.js'
import { mapSecurity, type SecurityUse } from './openapi/security.js'
import { mapServers } from './openapi/servers.js'

export type { ImportReport, OpenApiImportOptions, SkippedItem, OpenApiVersion } from './openapi/context.js'
export { REF_PARSER_OPTIONS } from './openapi/parse.js'

export interface OpenApiImportResult {
  definition: ConnectorDefinition
  settings: Partial<ReleaseSettings>
  report: ImportReport
}

let validators: { method: ReturnType<typeof Compile<typeof Method>>; auth: ReturnType<typeof Compile<typeof Authentication>>; definition: ReturnType<typeof Compile<typeof ConnectorDefinition>> } | undefined
const compiled = () => (validators ??= { method: Compile(Method), auth: Compile(Authentication), definition: Compile(ConnectorDefinition) })

const firstError = (errors: Iterable<{ instancePath?: string; message?: string }>): string => {
  for (const e of errors) return `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`
  return 'is invalid'
}

const requirements = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : [])

/**
 * Imports an OpenAPI 3.0/3.1 or Swagger 2.0 description (JSON or YAML text).
 * Throws a `PlexusError` with code `BAD_REQUEST` when the text is not a usable description.
 */
export async function importOpenApi(text: string, options: OpenApiImportOptions = {}): Promise<OpenApiImportResult> {
  const opts = { ...DEFAULT_OPTIONS, ...options }
  const parsed = await parseOpenApi(text, opts.maxDocumentLength)
  const ctx = new ImportContext(parsed.doc, parsed.version, opts)
  for (const w of parsed.warnings) ctx.warn(w)
  const v = compiled()

  const { baseUrl, parameters } = mapServers(ctx)
  const operations = collectOperations(ctx)

  const use: SecurityUse = {
    topLevel: requirements(ctx.doc.security),
    operations: operations.flatMap((o) => requirements(o.op.security)),
  }
  const authentications = mapSecurity(ctx, use).filter((a) => {
    const id = a.id
    if (v.auth.Check(a)) return true
    ctx.skip('#/', `authentication "${id}" could not be expressed: ${firstError(v.auth.Errors(a))}`)
    return false
  })
  if (!authentications.some((a) => a.default) && authentications.length > 0) authentications[0].default = true

  const state = newMapState(ctx)
  const methods: Method[] = []
  for (const ref of operations) {
    let method: Method
    try {
      method = mapOperation(ctx, ref, state)
    } catch (e) {
      ctx.skip(ref.at, `${ref.verb.toUpperCase()} ${ref.path}: could not be mapped (${(e as Error).message})`)
      continue
    }
    if (!v.method.Check(method)) {
      ctx.skip(ref.at, `${ref.verb.toUpperCase()} ${ref.path}: the generated method is invalid: ${firstError(v.method.Errors(method))}`)
      continue
    }
    methods.push(method)
  }
  ctx.report.mapped = methods.length
  if (operations.length === 0) ctx.warn('The document has no operations to map.')

  const definition: ConnectorDefinition = { definitionVersion: 1 }
  if (baseUrl) definition.baseUrl = baseUrl
  if (authentications.length > 0) definition.authentications = authentications
  if (parameters.length > 0) definition.parameters = parameters
  definition.methods = methods
  if (!v.definition.Check(definition)) {
    throw fail('INTERNAL', `The imported definition does not validate: ${firstError(v.definition.Errors(definition))}`)
  }

  const info = isObj(ctx.doc.info) ? ctx.doc.info : {}
  const title = nonEmpty(info.title) ?? 'untitled API'
  const apiVersion = info.version !== undefined ? ` ${String(info.version)}` : ''
  const settings: Partial<ReleaseSettings> = {
    comments: truncate(oneLine(`Imported from the ${parsed.version === '2.0' ? 'Swagger' : 'OpenAPI'} ${parsed.declaredVersion} description "${title}"${apiVersion}: ${methods.length} method${methods.length === 1 ? '' : 's'}.`), 10000),
  }
  const testMethod = guessAuthTestMethod(methods)
  if (testMethod) settings.postInstallTestAuthMethod = testMethod
  return { definition, settings, report: ctx.report }
}

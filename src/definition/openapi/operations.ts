// Operations → methods: id, name, category, HTTP verb and path (with `{{merge fields}}`),
// parameters, request fields from the body schema, response fields and the record array.
import type { BodyFormat, Field, Method, Parameter } from '../schema.js'
import { child, isObj, nonEmpty, pointer, str, type ImportContext, type Obj } from './context.js'
import { humanize, identifierSet, NameSet, oneLine, pascalName, sanitizeSystemName, singular, slugIdentifier, systemNameSet, truncate } from './names.js'
import { EXTERNAL_REF, UNRESOLVED_REF } from './parse.js'
import { flattenFields, guessRecords, shapeOf, type Shape } from './schema-fields.js'
import { serverUrl } from './servers.js'

const VERBS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const
const SUPPORTED_VERBS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head'])
/** OpenAPI 3: header parameters with these names SHALL be ignored. */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization'])
const SENSITIVE_NAME = /(token|secret|password|passwd|api[-_]?key|signature)/i

export interface OperationRef {
  path: string
  verb: string
  op: Obj
  pathItem: Obj
  at: string
}

/** Lists the operations that can become methods; reports the others (unsupported verbs, callbacks, webhooks). */
export function collectOperations(ctx: ImportContext): OperationRef[] {
  const ops: OperationRef[] = []
  const paths = isObj(ctx.doc.paths) ? ctx.doc.paths : {}
  for (const [path, pathItem] of Object.entries(paths)) {
    if (path.startsWith('x-')) continue
    const itemAt = pointer('paths', path)
    if (!isObj(pathItem)) {
      ctx.skip(itemAt, 'path item is not an object')
      continue
    }
    if (typeof pathItem[EXTERNAL_REF] === 'string' || typeof pathItem[UNRESOLVED_REF] === 'string') {
      ctx.skip(itemAt, `path item is a $ref that was not followed (${pathItem[EXTERNAL_REF] ?? pathItem[UNRESOLVED_REF]})`)
      continue
    }
    if (!path.startsWith('/')) {
      ctx.skip(itemAt, 'path does not start with "/"')
      continue
    }
    for (const verb of VERBS) {
      const op = pathItem[verb]
      if (op === undefined) continue
      const at = child(itemAt, verb)
      if (!isObj(op)) {
        ctx.skip(at, 'operation is not an object')
        continue
      }
      if (!SUPPORTED_VERBS.has(verb)) {
        ctx.skip(at, `HTTP method ${verb.toUpperCase()} is not supported by connector methods`)
        continue
      }
      if (isObj(op.callbacks)) {
        for (const name of Object.keys(op.callbacks))
          ctx.skip(child(at, 'callbacks', name), 'callbacks (requests the API sends back) are not mapped; add a webhook method by hand')
      }
      ops.push({ path, verb, op, pathItem, at })
    }
  }
  if (isObj(ctx.doc.webhooks)) {
    for (const [name, item] of Object.entries(ctx.doc.webhooks)) {
      if (!isObj(item)) continue
      for (const verb of VERBS)
        if (isObj(item[verb]))
          ctx.skip(pointer('webhooks', name, verb), 'webhook-only operation (a request the API sends, not one it receives); add a webhook method by hand')
    }
  }
  return ops
}

interface MapState {
  ids: NameSet
  /** The operation-independent base server URL, to detect operations with their own servers. */
  baseServerUrl?: string
}

export function newMapState(ctx: ImportContext): MapState {
  const servers = Array.isArray(ctx.doc.servers) ? ctx.doc.servers.filter(isObj) : []
  return { ids: identifierSet(), baseServerUrl: str(servers[0]?.url) }
}

const isMarker = (v: unknown): v is Obj => isObj(v) && (typeof v[EXTERNAL_REF] === 'string' || typeof v[UNRESOLVED_REF] === 'string')
const markerReason = (v: Obj) =>
  typeof v[EXTERNAL_REF] === 'string' ? `external $ref "${v[EXTERNAL_REF]}" not followed` : `$ref "${v[UNRESOLVED_REF]}" does not resolve`

function deriveName(verb: string, path: string): string {
  const segments = path.split('/').filter(Boolean)
  const endsWithParam = segments.length > 0 && /^\{.*\}$/.test(segments[segments.length - 1])
  const nouns = segments.filter((s) => !/^\{.*\}$/.test(s))
  const noun = humanize(nouns.length > 0 ? nouns[nouns.length - 1] : 'root')
  const one = noun.split(' ').map((w, i, a) => (i === a.length - 1 ? singular(w) : w)).join(' ')
  switch (verb) {
    case 'get':
      return endsWithParam ? `Get ${one}` : `List ${noun}`
    case 'post':
      return `Create ${one}`
    case 'put':
    case 'patch':
      return `Update ${one}`
    case 'delete':
      return `Delete ${one}`
    default:
      return `${humanize(verb)} ${noun}`
  }
}

/** `/pets/{petId}/toys` → `pets-petId-toys`. */
const pathSlug = (path: string) => slugIdentifier(path.replace(/[{}]/g, '')) || 'root'

interface RawParam {
  p: Obj
  at: string
}

/** Path-item parameters overridden by operation parameters with the same name and location. */
function mergedParameters(ref: OperationRef, ctx: ImportContext): RawParam[] {
  const out = new Map<string, RawParam>()
  const add = (list: unknown, base: string) => {
    if (!Array.isArray(list)) return
    list.forEach((p, i) => {
      const at = child(base, 'parameters', i)
      if (isMarker(p)) {
        ctx.skip(at, `parameter: ${markerReason(p)}`)
        return
      }
      if (!isObj(p) || typeof p.name !== 'string' || typeof p.in !== 'string') {
        ctx.skip(at, 'parameter without a name or "in"')
        return
      }
      out.set(`${p.in}\u0000${p.name}`, { p, at })
    })
  }
  add(ref.pathItem.parameters, pointer('paths', ref.path))
  add(ref.op.parameters, ref.at)
  return [...out.values()]
}

const scalarString = (v: unknown): string | undefined =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) ? String(v) : undefined

function paramSchema(p: Obj, ctx: ImportContext): unknown {
  if (ctx.version === '2.0') return p
  if (p.schema !== undefined) return p.schema
  if (isObj(p.content)) {
    const first = Object.values(p.content)[0]
    if (isObj(first)) return first.schema
  }
  return undefined
}

function describe(p: Obj, schema: unknown): string | undefined {
  const parts: string[] = []
  const d = nonEmpty(p.description) ?? (isObj(schema) ? nonEmpty(schema.description) : undefined)
  if (d) parts.push(oneLine(d))
  const e = isObj(schema) ? (Array.isArray(schema.enum) ? schema.enum : isObj(schema.items) && Array.isArray(schema.items.enum) ? schema.items.enum : undefined) : undefined
  if (e && e.length > 0) parts.push(`Allowed values: ${e.map((v) => String(v)).join(', ')}.`)
  return parts.length > 0 ? truncate(parts.join(' '), 1000) : undefined
}

interface BodyChoice {
  format: BodyFormat
  mediaType: string
  schema: unknown
  at: string
}

function classifyMediaType(mediaType: string): BodyFormat | 'binary' {
  const mt = mediaType.toLowerCase().split(';')[0].trim()
  if (mt === 'application/json' || mt.endsWith('+json') || mt === 'text/json' || mt === '*/*' || mt === 'application/*' || mt.endsWith('/json')) return 'json'
  if (mt === 'application/x-www-form-urlencoded') return 'form'
  if (mt.startsWith('multipart/')) return 'multipart'
  if (mt === 'application/xml' || mt === 'text/xml' || mt.endsWith('+xml')) return 'xml'
  if (mt.startsWith('text/')) return 'text'
  return 'binary'
}

const FORMAT_PREFERENCE: BodyFormat[] = ['json', 'form', 'multipart', 'xml', 'text']

/** Picks the most useful media type of an OpenAPI 3 `content` map. */
function chooseContent(content: Obj, at: string): { choice?: BodyChoice; others: string[] } {
  const entries = Object.entries(content).map(([mt, media]) => ({ mt, media: isObj(media) ? media : {}, format: classifyMediaType(mt) }))
  for (const format of FORMAT_PREFERENCE) {
    const hit = entries.find((e) => e.format === format)
    if (hit) return { choice: { format, mediaType: hit.mt, schema: hit.media.schema, at: child(at, 'content', hit.mt, 'schema') }, others: entries.map((e) => e.mt) }
  }
  return { others: entries.map((e) => e.mt) }
}

function swaggerFormat(types: string[]): BodyFormat | 'binary' {
  if (types.length === 0) return 'json'
  const formats = types.map(classifyMediaType)
  for (const f of FORMAT_PREFERENCE) if (formats.includes(f)) return f
  return 'binary'
}

function mapRequest(ctx: ImportContext, ref: OperationRef, label: string, params: RawParam[]): Method['request'] | undefined {
  let choice: BodyChoice | undefined
  if (ctx.version === '2.0') {
    const consumes = (Array.isArray(ref.op.consumes) ? ref.op.consumes : Array.isArray(ctx.doc.consumes) ? ctx.doc.consumes : []).filter(
      (c): c is string => typeof c === 'string',
    )
    const body = params.find((r) => r.p.in === 'body')
    const form = params.filter((r) => r.p.in === 'formData')
    if (body) {
      const format = swaggerFormat(consumes)
      if (format === 'binary') {
        ctx.skip(body.at, `${label}: binary request body (${consumes.join(', ')}) is not mapped`)
        return undefined
      }
      choice = { format, mediaType: consumes[0] ?? 'application/json', schema: body.p.schema, at: child(body.at, 'schema') }
    } else if (form.length > 0) {
      const multipart = consumes.some((c) => c.toLowerCase().startsWith('multipart/')) || form.some((r) => r.p.type === 'file')
      const properties: Obj = {}
      const required: string[] = []
      for (const { p } of form) {
        const { name: n, in: _in, required: req, ...rest } = p
        Object.defineProperty(properties, n as string, { value: rest, enumerable: true, configurable: true, writable: true })
        if (req === true) required.push(n as string)
      }
      choice = {
        format: multipart ? 'multipart' : 'form',
        mediaType: multipart ? 'multipart/form-data' : 'application/x-www-form-urlencoded',
        schema: { type: 'object', properties, required },
        at: child(ref.at, 'parameters'),
      }
    } else return undefined
  } else {
    const rb = ref.op.requestBody
    if (rb === undefined) return undefined
    const at = child(ref.at, 'requestBody')
    if (isMarker(rb)) {
      ctx.skip(at, `${label}: request body ${markerReason(rb)}`)
      return undefined
    }
    if (!isObj(rb) || !isObj(rb.content) || Object.keys(rb.content).length === 0) {
      ctx.skip(at, `${label}: request body without content`)
      return undefined
    }
    const picked = chooseContent(rb.content, at)
    if (!picked.choice) {
      ctx.skip(at, `${label}: binary request body (${picked.others.join(', ')}) is not mapped`)
      return undefined
    }
    choice = picked.choice
  }
  const request: NonNullable<Method['request']> = { format: choice.format }
  if (choice.schema === undefined) {
    ctx.skip(choice.at, `${label}: ${choice.mediaType} request body has no schema`)
    return request
  }
  const shape = shapeOf(choice.schema)
  if (choice.format === 'xml' && shape.kind !== 'unmappable') {
    const xml = shape.schema.xml
    if (isObj(xml) && nonEmpty(xml.name)) request.xmlRoot = nonEmpty(xml.name)
  }
  if (shape.kind === 'object') {
    if (shape.freeForm) ctx.skip(choice.at, `${label}: request body is a free-form object (no declared properties)`)
    const fields = flattenFields(shape, ctx, { direction: 'request', at: choice.at, label: `${label} request` })
    if (fields.length > 0) request.fields = fields
  } else if (shape.kind === 'unmappable') {
    ctx.skip(choice.at, `${label}: request body: ${shape.reason}`)
  } else if (shape.kind === 'array') {
    ctx.skip(choice.at, `${label}: request body is a top-level array; its items are not mapped to fields`)
  } else if (choice.format !== 'text') {
    ctx.skip(choice.at, `${label}: request body is a single ${shape.type} value, not an object`)
  }
  return request
}

function pickResponse(responses: Obj): string | undefined {
  for (const code of ['200', '201']) if (responses[code] !== undefined) return code
  const other = Object.keys(responses)
    .filter((c) => /^2\d\d$/.test(c))
    .sort()
  if (other.length > 0) return other[0]
  return Object.keys(responses).find((c) => /^2xx$/i.test(c))
}

function mapResponse(ctx: ImportContext, ref: OperationRef, label: string): { response?: Method['response']; records?: string } {
  const responses = ref.op.responses
  if (!isObj(responses)) return {}
  const code = pickResponse(responses)
  if (code === undefined) return {}
  const res = responses[code]
  const at = child(ref.at, 'responses', code)
  if (isMarker(res)) {
    ctx.skip(at, `${label}: response ${markerReason(res)}`)
    return {}
  }
  if (!isObj(res)) return {}
  let schema: unknown
  let schemaAt = child(at, 'schema')
  if (ctx.version === '2.0') {
    const produces = (Array.isArray(ref.op.produces) ? ref.op.produces : Array.isArray(ctx.doc.produces) ? ctx.doc.produces : []).filter(
      (c): c is string => typeof c === 'string',
    )
    const format = swaggerFormat(produces)
    if (res.schema === undefined) return {}
    if (format !== 'json') {
      if (format === 'xml' || format === 'text') return { response: { format } }
      ctx.skip(at, `${label}: ${produces.join(', ')} response is not mapped`)
      return {}
    }
    schema = res.schema
  } else {
    if (!isObj(res.content) || Object.keys(res.content).length === 0) return {}
    const picked = chooseContent(res.content, at)
    const choice = picked.choice
    if (!choice || choice.format !== 'json') {
      if (choice && (choice.format === 'xml' || choice.format === 'text')) {
        if (choice.schema !== undefined) ctx.skip(choice.at, `${label}: ${choice.mediaType} response fields are not mapped (JSON only)`)
        return { response: { format: choice.format } }
      }
      ctx.skip(at, `${label}: ${picked.others.join(', ')} response is not mapped`)
      return {}
    }
    schema = choice.schema
    schemaAt = choice.at
  }
  if (schema === undefined) return {}
  const shape = shapeOf(schema)
  if (shape.kind === 'unmappable') {
    ctx.skip(schemaAt, `${label}: response: ${shape.reason}`)
    return {}
  }
  const segments = ref.path.split('/').filter(Boolean)
  const collectionPath = segments.length === 0 || !/^\{.*\}$/.test(segments[segments.length - 1])
  const guess = guessRecords(shape, ref.verb === 'get' && collectionPath)
  let recordShape: Shape = shape
  let recordAt = schemaAt
  let records: string | undefined
  if (guess) {
    records = guess.records
    recordShape = guess.item
    recordAt = records === '' ? child(schemaAt, 'items') : child(schemaAt, ...records.split('.').flatMap((k) => ['properties', k]), 'items')
  }
  let fields: Field[] = []
  if (recordShape.kind === 'object') {
    if (!recordShape.freeForm) fields = flattenFields(recordShape, ctx, { direction: 'response', at: recordAt, label: `${label} response` })
  } else if (recordShape.kind === 'unmappable') {
    ctx.skip(recordAt, `${label}: response records: ${recordShape.reason}`)
  }
  const out: { response?: Method['response']; records?: string } = {}
  if (fields.length > 0) out.response = { fields }
  if (records !== undefined) out.records = records
  return out
}

/** Maps one operation; what cannot be mapped is reported in the context. */
export function mapOperation(ctx: ImportContext, ref: OperationRef, state: MapState): Method {
  const { op, verb, path } = ref
  const label = `${verb.toUpperCase()} ${path}`
  const operationId = nonEmpty(op.operationId)
  const base = (operationId && slugIdentifier(operationId)) || `${verb}-${pathSlug(path)}`.slice(0, 96)
  const id = state.ids.claim(base)
  if (operationId && id !== base) ctx.warn(`Duplicate operationId "${operationId}" (${label}) became method id "${id}".`)

  const summary = nonEmpty(op.summary)
  const name = truncate(summary ? oneLine(summary) : operationId ? humanize(operationId) : deriveName(verb, path), 200)
  const method: Method = { id, name }
  const descriptionParts = [op.deprecated === true ? 'Deprecated.' : undefined, nonEmpty(op.description) ?? (summary && summary.length > 200 ? summary : undefined)]
  const description = descriptionParts.filter(Boolean).join(' ')
  if (description) method.description = truncate(description.trim(), 2000)
  const tag = Array.isArray(op.tags) ? nonEmpty(op.tags[0]) : undefined
  if (tag) method.category = truncate(oneLine(tag), 100)
  method.type = 'action'

  // Parameters.
  const raw = mergedParameters(ref, ctx)
  const names = systemNameSet()
  const parameters: Parameter[] = []
  const pathNames = new Map<string, string>()
  const templateVars = [...path.matchAll(/\{([^{}/]+)\}/g)].map((m) => m[1])
  for (const { p, at } of raw) {
    const pname = p.name as string
    const schema = paramSchema(p, ctx)
    const base: Pick<Parameter, 'displayName' | 'description' | 'default'> = { displayName: truncate(humanize(pname), 200) }
    const d = describe(p, schema)
    if (d) base.description = d
    const def = scalarString(ctx.version === '2.0' ? p.default : isObj(schema) ? schema.default : undefined)
    if (def !== undefined) base.default = def
    switch (p.in) {
      case 'path': {
        if (!templateVars.includes(pname)) {
          ctx.skip(at, `${label}: path parameter "${pname}" does not appear in the path`)
          break
        }
        const name = names.claim(pascalName(pname))
        pathNames.set(pname, name)
        const param: Parameter = { name, ...base, target: 'mergeField' }
        if (name !== pname) param.targetName = pname
        parameters.push(param)
        break
      }
      case 'query':
      case 'header': {
        if (p.in === 'header' && IGNORED_HEADERS.has(pname.toLowerCase())) {
          ctx.skip(at, `${label}: header parameter "${pname}" is ignored (set by the format or the authentication)`)
          break
        }
        const shape = shapeOf(schema)
        if (shape.kind === 'object') {
          ctx.skip(at, `${label}: object-valued ${p.in} parameter "${pname}" is not supported`)
          break
        }
        // Unions of scalars and arrays are sent as text; only unresolvable schemas are refused.
        if (shape.kind === 'unmappable' && /\$ref/.test(shape.reason)) {
          ctx.skip(at, `${label}: ${p.in} parameter "${pname}": ${shape.reason}`)
          break
        }
        const name = names.claim(sanitizeSystemName(pname))
        const param: Parameter = { name, ...base, target: p.in }
        if (name !== pname) param.targetName = pname
        if (p.required !== true) param.optional = true
        if (SENSITIVE_NAME.test(pname)) param.sensitive = true
        parameters.push(param)
        break
      }
      case 'cookie':
        ctx.skip(at, `${label}: cookie parameter "${pname}" is not supported`)
        break
      case 'body':
      case 'formData':
        if (ctx.version === '2.0') break // mapped as the request body
      // falls through
      default:
        ctx.skip(at, `${label}: parameter "${pname}" in ${JSON.stringify(p.in)} is not supported`)
    }
  }
  // Path template variables with no declared parameter still need a merge field.
  for (const v of templateVars) {
    if (pathNames.has(v)) continue
    const name = names.claim(pascalName(v))
    pathNames.set(v, name)
    const param: Parameter = { name, displayName: truncate(humanize(v), 200), target: 'mergeField' }
    if (name !== v) param.targetName = v
    parameters.push(param)
    ctx.warn(`${label}: path variable "${v}" has no parameter declaration; added merge field {{${name}}}.`)
  }
  let httpPath = path.replace(/\{([^{}/]+)\}/g, (_m, v: string) => `{{${pathNames.get(v)}}}`)

  // Operation or path-level servers that differ from the document's: use an absolute URL.
  const servers = Array.isArray(op.servers) ? op.servers : Array.isArray(ref.pathItem.servers) ? ref.pathItem.servers : undefined
  if (ctx.version !== '2.0' && servers && isObj(servers[0]) && str(servers[0].url) !== state.baseServerUrl) {
    const { baseUrl } = serverUrl(ctx, servers[0], child(ref.at, 'servers', 0), false)
    if (baseUrl) {
      httpPath = baseUrl.replace(/\/+$/, '') + httpPath
      ctx.warn(`${label} uses its own server ${servers[0].url}; its path is the absolute URL ${httpPath}.`)
    }
  }
  method.http = { method: verb.toUpperCase() as NonNullable<Method['http']>['method'], path: httpPath }
  if (parameters.length > 0) method.parameters = parameters

  const request = mapRequest(ctx, ref, label, raw)
  if (request) method.request = request
  const { response, records } = mapResponse(ctx, ref, label)
  if (response) method.response = response
  if (records !== undefined) method.records = records
  return method
}

const AUTH_TEST_PATH = /^\/(me|user|users\/me|users\/self|account|accounts\/me|whoami|myself|self|userinfo|profile)\/?$/i

/** A GET without path parameters on `/me`, `/user`, `/account`…: the method that tests the authentication. */
export function guessAuthTestMethod(methods: Method[]): string | undefined {
  return methods.find(
    (m) => m.http?.method === 'GET' && AUTH_TEST_PATH.test(m.http.path) && !(m.parameters ?? []).some((p) => p.target !== 'mergeField' && p.optional !== true),
  )?.id
}

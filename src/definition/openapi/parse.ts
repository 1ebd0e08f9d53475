// Reads an OpenAPI 3.0/3.1 or Swagger 2.0 document from JSON or YAML text and resolves its internal
// `$ref`s. External references (files, URLs) are never fetched: they are neutralised before the
// resolver sees them and reported.
import SwaggerParser from '@apidevtools/swagger-parser'
import { parse as parseYaml } from 'yaml'
import { fail } from '../../errors/errors.js'
import { isObj, pointer, type Obj, type OpenApiVersion } from './context.js'

/** Marker left in place of a `$ref` that was not followed. */
export const EXTERNAL_REF = 'x-plexus-external-ref'
export const UNRESOLVED_REF = 'x-plexus-unresolved-ref'

export interface ParsedDocument {
  doc: Obj
  version: OpenApiVersion
  /** The version string as written in the document. */
  declaredVersion: string
  warnings: string[]
}

/**
 * Options for swagger-parser / json-schema-ref-parser: no external resolution at all, and no file
 * or HTTP resolver even if something asked for one.
 */
export const REF_PARSER_OPTIONS = {
  resolve: { external: false, file: false, http: false },
  dereference: { circular: true },
  validate: { schema: false, spec: false },
} as const

const invalid = (message: string, details?: unknown) => fail('BAD_REQUEST', `Invalid OpenAPI document: ${message}`, details)

function parseText(text: string): unknown {
  const trimmed = text.replace(/^\uFEFF/, '').trim()
  if (trimmed === '') throw invalid('the document is empty')
  let jsonError: string | undefined
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed)
    } catch (e) {
      jsonError = (e as Error).message
    }
  }
  try {
    return parseYaml(trimmed, { merge: true, prettyErrors: true })
  } catch (e) {
    const yamlError = (e as Error).message.split('\n')[0]
    throw invalid(jsonError ? `not valid JSON (${jsonError})` : `not valid JSON or YAML (${yamlError})`)
  }
}

function detectVersion(doc: Obj, warnings: string[]): { version: OpenApiVersion; declared: string } {
  if (doc.swagger !== undefined) {
    const declared = String(doc.swagger)
    if (declared !== '2.0' && declared !== '2') throw invalid(`unsupported Swagger version "${declared}" (expected "2.0")`)
    if (typeof doc.swagger !== 'string') warnings.push(`The swagger version should be the string "2.0", not a number.`)
    doc.swagger = '2.0'
    return { version: '2.0', declared }
  }
  if (doc.openapi !== undefined) {
    const declared = String(doc.openapi)
    const m = /^3(?:\.(\d+))?(?:\.(\d+))?/.exec(declared)
    if (!m) throw invalid(`unsupported OpenAPI version "${declared}" (expected 3.0.x or 3.1.x, or Swagger 2.0)`)
    if (typeof doc.openapi !== 'string') warnings.push(`The openapi version should be a string like "3.0.3", not a number.`)
    const minor = Number(m[1] ?? 0)
    if (minor === 0) {
      if (!/^3\.0\.[0-4]$/.test(declared)) warnings.push(`OpenAPI version "${declared}" read as 3.0.`)
      doc.openapi = '3.0.3'
      return { version: '3.0', declared }
    }
    if (!/^3\.1\.[0-2]$/.test(declared)) warnings.push(`OpenAPI version "${declared}" read as 3.1.`)
    doc.openapi = '3.1.0'
    return { version: '3.1', declared }
  }
  throw invalid('no "openapi" or "swagger" version field; this is not an OpenAPI 3.x or Swagger 2.0 description')
}

function decodePointerSegment(segment: string): string {
  let s = segment
  try {
    s = decodeURIComponent(segment)
  } catch {
    /* keep as written */
  }
  return s.replace(/~1/g, '/').replace(/~0/g, '~')
}

/** Resolves a local JSON pointer reference (`#/a/b`) against the document; undefined when missing. */
export function resolveLocal(doc: Obj, ref: string): unknown {
  if (ref === '#') return doc
  if (!ref.startsWith('#/')) return undefined
  let cur: unknown = doc
  for (const raw of ref.slice(2).split('/')) {
    const seg = decodePointerSegment(raw)
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg)) return undefined
      cur = cur[Number(seg)]
    } else if (isObj(cur) && Object.prototype.hasOwnProperty.call(cur, seg)) {
      cur = cur[seg]
    } else return undefined
    if (cur === undefined) return undefined
  }
  return cur
}

/**
 * Walks the raw document and replaces every `$ref` that is not a resolvable local pointer by a
 * marker, so the resolver cannot follow it whatever its options. Returns warnings.
 */
function guardRefs(doc: Obj): string[] {
  const external = new Map<string, string[]>()
  const unresolved = new Map<string, string[]>()
  const seen = new Set<object>()
  // Iterative walk (documents may be deeply nested); each entry links to its parent's trail.
  interface Trail {
    key: string
    up?: Trail
  }
  const segments = (t: Trail | undefined): string[] => {
    const out: string[] = []
    for (let c = t; c; c = c.up) out.unshift(c.key)
    return out
  }
  const stack: Array<[unknown, Trail | undefined]> = [[doc, undefined]]
  while (stack.length > 0) {
    const [node, trail] = stack.pop()!
    if (typeof node !== 'object' || node === null || seen.has(node)) continue
    seen.add(node)
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], { key: String(i), up: trail }])
      continue
    }
    const o = node as Obj
    if (typeof o.$ref === 'string') {
      const ref = o.$ref
      const local = ref.startsWith('#')
      if (!local || resolveLocal(doc, ref) === undefined) {
        const where = pointer(...segments(trail))
        const bucket = local ? unresolved : external
        bucket.set(ref, [...(bucket.get(ref) ?? []), where])
        delete o.$ref
        o[local ? UNRESOLVED_REF : EXTERNAL_REF] = ref
      }
    }
    const keys = Object.keys(o)
    for (let i = keys.length - 1; i >= 0; i--) if (typeof o[keys[i]] === 'object') stack.push([o[keys[i]], { key: keys[i], up: trail }])
  }
  const list = (where: string[]) => where.slice(0, 3).join(', ') + (where.length > 3 ? ` and ${where.length - 3} more` : '')
  return [
    ...[...external].map(([ref, where]) => `External $ref "${ref}" was not followed (external references are never fetched; bundle a multi-file description into one document first); used at ${list(where)}.`),
    ...[...unresolved].map(([ref, where]) => `$ref "${ref}" does not resolve within the document; used at ${list(where)}.`),
  ]
}

/** Parses the text, checks the version and resolves internal `$ref`s (circular ones become object cycles). */
export async function parseOpenApi(text: string, maxLength: number): Promise<ParsedDocument> {
  if (typeof text !== 'string') throw invalid('expected the document text as a string')
  if (text.length > maxLength) throw invalid(`the document is larger than ${maxLength} characters`)
  const raw = parseText(text)
  if (!isObj(raw)) throw invalid(`expected an object at the top level, got ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}`)
  const doc = raw
  const warnings: string[] = []
  const { version, declared } = detectVersion(doc, warnings)
  if (doc.paths === undefined || doc.paths === null) {
    if (version === '3.1' && isObj(doc.webhooks)) doc.paths = {}
    else throw invalid('it has no "paths"')
  }
  if (!isObj(doc.paths)) throw invalid('"paths" must be an object')
  if (!isObj(doc.info)) warnings.push('The document has no "info" object.')
  else if (typeof doc.info.version === 'number') doc.info.version = String(doc.info.version)
  // json-schema-ref-parser takes a root `$id` as the base URL of the document; OpenAPI roots have none.
  delete doc.$id
  try {
    warnings.push(...guardRefs(doc))
    const parser = new SwaggerParser()
    const resolved = (await parser.dereference(doc as never, REF_PARSER_OPTIONS as never)) as unknown
    if (!isObj(resolved)) throw new Error('the resolver returned no document')
    return { doc: resolved, version, declaredVersion: declared, warnings }
  } catch (e) {
    if ((e as { code?: string }).code === 'BAD_REQUEST') throw e
    if (e instanceof RangeError) throw invalid('the document is nested too deeply')
    throw invalid(`could not resolve $refs: ${(e as Error).message}`)
  }
}

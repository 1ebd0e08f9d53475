// Paging consistency (SPEC §3): page sizes where paging is on, outbound array locations, and the
// PAGE_* variables wired the way the runtime reads them (next URL and cursors come from
// responseField parameters; every cursor read is sent back, and every cursor sent is read).
import { at, type Problem } from '../problems.js'
import { canonicalVariable, isPageTokenVariable, scanTemplate } from '../variables.js'
import { record, str, type Item, type MethodItem, type ReleaseView, type Rule } from './context.js'
import type { Parameter } from '../schema.js'

export const pagingRules: Rule = (view) => [
  ...releaseSizes(view),
  ...view.methods.flatMap((m) => methodOverrides(view, m)),
  ...responseFieldValues(view),
  ...nextUrlPlacement(view),
  ...tokenPairs(view),
]

function releaseSizes({ settings: s, definition }: ReleaseView): Problem[] {
  const d = record(definition.paging) ?? {}
  const out: Problem[] = []
  if (s.inboundPaging === true && s.inboundPageSize === undefined) out.push({ path: '/settings/inboundPageSize', message: 'required when inboundPaging is true' })
  if (s.outboundPaging === true && s.outboundPageSize === undefined) out.push({ path: '/settings/outboundPageSize', message: 'required when outboundPaging is true' })
  if (d.inbound === true && d.pageSize === undefined && s.inboundPageSize === undefined) {
    out.push({ path: '/definition/paging/pageSize', message: 'required when inbound paging is on (here or in settings.inboundPageSize)' })
  }
  if (d.outbound === true && d.outboundPageSize === undefined && s.outboundPageSize === undefined) {
    out.push({ path: '/definition/paging/outboundPageSize', message: 'required when outbound paging is on (here or in settings.outboundPageSize)' })
  }
  return out
}

/** A method that turns paging on itself needs a size from somewhere: method, release paging or settings. */
function methodOverrides({ settings: s, definition }: ReleaseView, m: MethodItem): Problem[] {
  const p = record(m.value.paging)
  if (!p) return []
  const d = record(definition.paging) ?? {}
  const out: Problem[] = []
  if (p.inbound === true && p.pageSize === undefined && d.pageSize === undefined && s.inboundPageSize === undefined) {
    out.push({ path: at(m.path, 'paging', 'pageSize'), message: 'required when inbound paging is on (here, in definition.paging.pageSize or in settings.inboundPageSize)' })
  }
  if (p.outbound === true) {
    if (p.outboundPageSize === undefined && d.outboundPageSize === undefined && s.outboundPageSize === undefined) {
      out.push({ path: at(m.path, 'paging', 'outboundPageSize'), message: 'required when outbound paging is on (here, in definition.paging.outboundPageSize or in settings.outboundPageSize)' })
    }
    if (p.outboundLocation === undefined && d.outboundLocation === undefined) {
      out.push({ path: at(m.path, 'paging', 'outboundLocation'), message: 'required when outbound paging is on: the request array sent in batches, e.g. data.records' })
    }
  }
  return out
}

const allParameters = (view: ReleaseView): Item<Parameter>[] => [...view.parameters, ...view.methods.flatMap((m) => m.parameters)]

/** A responseField parameter exists to read a next URL or a cursor: its value is exactly one such variable. */
function responseFieldValues(view: ReleaseView): Problem[] {
  return allParameters(view).flatMap(({ value: p, path }) => {
    if (p.target !== 'responseField') return []
    const name = canonicalVariable(/^\{\{\s*(\w+)\s*\}\}$/.exec(str(p.value) ?? '')?.[1] ?? '')
    if (name === 'PAGE_NEXT_URL' || isPageTokenVariable(name)) return []
    const got = p.value === undefined ? 'no value' : `got ${JSON.stringify(p.value)}`
    return [{ path: at(path, 'value'), message: `a responseField parameter must be {{PAGE_NEXT_URL}}, {{PAGE_TOKEN}} or {{PAGE_TOKEN_<SUFFIX>}} (${got})` }]
  })
}

/** The runtime follows PAGE_NEXT_URL itself; sending it anywhere is a mistake. */
function nextUrlPlacement(view: ReleaseView): Problem[] {
  const senders = [...allParameters(view).filter((p) => p.value.target !== 'responseField').map(valueOf), ...view.methods.map(pathOf)]
  return senders.flatMap(({ text, path }) =>
    uses(text).has('PAGE_NEXT_URL') ? [{ path, message: '{{PAGE_NEXT_URL}} can only be the value of a responseField parameter; the next request goes to that URL by itself' }] : [],
  )
}

interface Use {
  text: string | undefined
  path: string
}
const valueOf = ({ value: p, path }: Item<Parameter>): Use => ({ text: str(p.value), path: at(path, 'value') })
const pathOf = (m: MethodItem): Use => ({ text: str(record(m.value.http)?.path), path: at(m.path, 'http', 'path') })
/** Variables of a template, canonically spelled (`CYCLR_PAGE_TOKEN` → `PAGE_TOKEN`). */
const uses = (text: string | undefined): Set<string> => new Set(text ? scanTemplate(text).tokens.map((t) => canonicalVariable(t.name)) : [])

/** Where each cursor variable is read (responseField parameters) and sent (other parameters, paths). */
interface TokenSides {
  readers: Use[]
  senders: Use[]
}

function sides(parameters: Item<Parameter>[], paths: Use[] = []): TokenSides {
  const readers = parameters.filter((p) => p.value.target === 'responseField').map(valueOf)
  const senders = [...parameters.filter((p) => p.value.target !== 'responseField').map(valueOf), ...paths]
  return { readers, senders }
}

const tokensIn = (list: Use[]): Set<string> => new Set(list.flatMap((u) => [...uses(u.text)].filter(isPageTokenVariable)))

/**
 * Cursor pairs: a token read must be sent and a token sent must be read. A method-level side pairs
 * with its own method and the connector level; a connector-level side pairs with anything.
 */
function tokenPairs(view: ReleaseView): Problem[] {
  const connector = sides(view.parameters)
  const methods = view.methods.map((m) => sides(m.parameters, [pathOf(m)]))
  const everywhere = { readers: tokensIn([...connector.readers, ...methods.flatMap((m) => m.readers)]), senders: tokensIn([...connector.senders, ...methods.flatMap((m) => m.senders)]) }
  const out = unpaired(connector, everywhere)
  methods.forEach((own) => {
    const visible = { readers: tokensIn([...own.readers, ...connector.readers]), senders: tokensIn([...own.senders, ...connector.senders]) }
    out.push(...unpaired(own, visible))
  })
  return out
}

function unpaired(own: TokenSides, visible: { readers: Set<string>; senders: Set<string> }): Problem[] {
  const out: Problem[] = []
  for (const r of own.readers) {
    for (const t of tokensIn([r])) if (!visible.senders.has(t)) out.push({ path: r.path, message: `{{${t}}} is read from the response but no query, body or header parameter sends it` })
  }
  for (const s of own.senders) {
    for (const t of tokensIn([s])) if (!visible.readers.has(t)) out.push({ path: s.path, message: `{{${t}}} is sent but no responseField parameter reads it from the response` })
  }
  return out
}

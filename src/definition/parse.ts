// Reads a definition or release document from JSON or YAML text. Syntax errors carry a line and
// column so an author can find them; nothing here validates the shape (see validate.ts).
import { parseAllDocuments } from 'yaml'

export type DefinitionFormat = 'json' | 'yaml'

export class DefinitionSyntaxError extends Error {
  readonly code = 'DEFINITION_SYNTAX'
  constructor(
    readonly format: DefinitionFormat,
    readonly reason: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(`invalid ${format.toUpperCase()}${line !== undefined ? ` at line ${line}, column ${column}` : ''}: ${reason}`)
    this.name = 'DefinitionSyntaxError'
  }
}

/**
 * Parses JSON or YAML. Without `format`, text whose first non-blank character is `{` or `[` is
 * JSON, anything else YAML: predictable, and a broken JSON file gets a JSON error, not a YAML one.
 */
export function parseDefinitionText(text: string, format?: DefinitionFormat): unknown {
  const body = text.replace(/^\uFEFF/, '')
  const detected = format ?? (/^\s*[[{]/.test(body) ? 'json' : 'yaml')
  if (body.trim() === '') throw new DefinitionSyntaxError(detected, 'the document is empty')
  return detected === 'json' ? parseJson(body) : parseYaml(body)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    // V8 messages differ across versions and often omit the position; locate the error ourselves.
    const reason = (e as Error).message
      .replace(/(?: in JSON)? at position \d+.*$/, '')
      .replace(/,? ?(\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '')
    const { line, column } = lineColumn(text, locateJsonError(text))
    throw new DefinitionSyntaxError('json', reason, line, column)
  }
}

function parseYaml(text: string): unknown {
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true })
  const list = Array.isArray(docs) ? docs : [] // an EmptyStream (not an array) for comment-only text
  for (const doc of list) {
    const error = doc.errors[0]
    if (error) {
      const pos = error.linePos?.[0]
      throw new DefinitionSyntaxError('yaml', error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''), pos?.line, pos?.col)
    }
  }
  if (list.length === 0) throw new DefinitionSyntaxError('yaml', 'the document is empty')
  if (list.length > 1) {
    const { line, column } = lineColumn(text, list[1].range[0])
    throw new DefinitionSyntaxError('yaml', 'expected a single YAML document, found several', line, column)
  }
  return list[0].toJS({ maxAliasCount: 100 })
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const lines = text.slice(0, offset).split('\n')
  return { line: lines.length, column: lines[lines.length - 1].length + 1 }
}

/** Offset of the first JSON syntax error (RFC 8259 grammar); only called when JSON.parse failed. */
export function locateJsonError(text: string): number {
  let i = 0
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++
  }
  const fail = (): never => {
    throw i
  }
  const literal = (word: string) => (text.startsWith(word, i) ? (i += word.length) : fail())
  const string = () => {
    i++ // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail()
      if (text[i] === '\\') {
        i++
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail()
          i += 4
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail()
      }
      i++
    }
    if (i >= text.length) fail()
    i++
  }
  const value = (): void => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      ws()
      if (text[i] === '}') return void i++
      for (;;) {
        ws()
        if (text[i] !== '"') fail()
        string()
        ws()
        if (text[i] !== ':') fail()
        i++
        value()
        ws()
        if (text[i] === ',') i++
        else if (text[i] === '}') return void i++
        else fail()
      }
    }
    if (c === '[') {
      i++
      ws()
      if (text[i] === ']') return void i++
      for (;;) {
        value()
        ws()
        if (text[i] === ',') i++
        else if (text[i] === ']') return void i++
        else fail()
      }
    }
    if (c === '"') return string()
    if (c === 't') return void literal('true')
    if (c === 'f') return void literal('false')
    if (c === 'n') return void literal('null')
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400))
    if (!m) fail()
    i += m![0].length
  }
  try {
    value()
    ws()
    return i < text.length ? i : text.length
  } catch (offset) {
    return Math.min(offset as number, text.length)
  }
}

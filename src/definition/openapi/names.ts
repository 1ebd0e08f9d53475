// Names for the definition: identifiers (method/auth ids), system names (parameters, fields) and
// display names, derived from OpenAPI names and made unique.

const IDENTIFIER_MAX = 100
const SYSTEM_NAME_MAX = 100

/** Shortens `text` to `max` characters, ending with "…" when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  return text.slice(0, max - 1).trimEnd() + '…'
}

/** Collapses whitespace (summaries are often multi-line in YAML). */
export const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim()

/**
 * An Identifier (`^[A-Za-z0-9][A-Za-z0-9_.-]*$`): runs of other characters become `-`.
 * Returns '' when nothing usable is left.
 */
export function slugIdentifier(raw: string): string {
  const slug = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/[-_.]+$/, '')
  return slug.slice(0, IDENTIFIER_MAX - 4).replace(/[-_.]+$/, '')
}

/** Splits a name into words at non-alphanumerics and camelCase boundaries. */
export function words(raw: string): string[] {
  return raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
}

/**
 * A SystemName (`^[A-Za-z_][A-Za-z0-9_]*$`) that stays as close as possible to `raw`
 * (used for query and header parameters, whose wire name is kept in `targetName`).
 */
export function sanitizeSystemName(raw: string): string {
  let name = raw.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9_]/g, '_')
  name = name.replace(/_{2,}/g, '_')
  if (name.length > 1) name = name.replace(/_+$/, '') || '_'
  if (name === '') name = '_'
  if (/^[0-9]/.test(name)) name = '_' + name
  return name.slice(0, SYSTEM_NAME_MAX)
}

/** A PascalCase SystemName (`petId` → `PetId`, `owner.login` → `OwnerLogin`), for merge fields and fields. */
export function pascalName(raw: string): string {
  const name = words(raw)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('')
  return sanitizeSystemName(name === '' ? sanitizeSystemName(raw) : name)
}

/** Human-readable words: `per_page` → `Per Page`, `owner.login` → `Owner Login`. */
export function humanize(raw: string): string {
  const w = words(raw)
  if (w.length === 0) return raw.trim() || 'Unnamed'
  return w.map((x) => x[0].toUpperCase() + x.slice(1)).join(' ')
}

/**
 * Hands out unique names: the first claim of a name gets it as is, later ones get a numeric suffix.
 * Comparison is case-insensitive so names never differ only by case.
 */
export class NameSet {
  readonly #taken = new Set<string>()

  constructor(
    readonly separator: string,
    readonly maxLength: number,
  ) {}

  has(name: string): boolean {
    return this.#taken.has(name.toLowerCase())
  }

  claim(base: string): string {
    let name = base.slice(0, this.maxLength)
    for (let n = 2; this.has(name); n++) {
      const suffix = `${this.separator}${n}`
      name = base.slice(0, this.maxLength - suffix.length) + suffix
    }
    this.#taken.add(name.toLowerCase())
    return name
  }
}

export const identifierSet = () => new NameSet('-', IDENTIFIER_MAX)
export const systemNameSet = () => new NameSet('_', SYSTEM_NAME_MAX)

/** Naive English singular, for derived method names (`Pets` → `Pet`). */
export function singular(word: string): string {
  if (/ies$/i.test(word)) return word.slice(0, -3) + 'y'
  if (/(ss|us|is)$/i.test(word)) return word
  if (/(xes|ches|shes|sses)$/i.test(word)) return word.slice(0, -2)
  if (/s$/i.test(word)) return word.slice(0, -1)
  return word
}

// Decision steps: left operand, condition, right operand → true/false.
import type { DECISION_OPERATORS } from './templates/template-schema.js'

type Operator = (typeof DECISION_OPERATORS)[number]

const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)
const asNumber = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN)
const asText = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v))

export function decide(left: unknown, operator: Operator, right: unknown): boolean {
  switch (operator) {
    case 'isEmpty':
      return isEmpty(left)
    case 'isNotEmpty':
      return !isEmpty(left)
    case 'equals':
      return asText(left) === asText(right)
    case 'notEquals':
      return asText(left) !== asText(right)
    case 'contains':
      return asText(left).includes(asText(right))
    case 'notContains':
      return !asText(left).includes(asText(right))
    case 'startsWith':
      return asText(left).startsWith(asText(right))
    case 'endsWith':
      return asText(left).endsWith(asText(right))
    case 'greaterThan':
    case 'lessThan': {
      const [l, r] = [asNumber(left), asNumber(right)]
      // numbers compare as numbers, anything else (dates in ISO 8601 included) as text
      const cmp = !Number.isNaN(l) && !Number.isNaN(r) ? l - r : asText(left).localeCompare(asText(right))
      return operator === 'greaterThan' ? cmp > 0 : cmp < 0
    }
  }
}

// The `{{Variable}}` language of templates (baseUrl, paths, parameter values, auth values).
// One place lists every variable the platform provides, so push validation, the runtime and the
// docs agree on it. Definition-specific names (parameters, auth fields, request fields) are added
// to these by whoever resolves a template.

/** Variables the platform always provides. Only `LastSuccessfulRunDate` accepts ` format=<pattern>`. */
export const BUILT_IN_VARIABLES = {
  LastSuccessfulRunDate: {
    description: "The step's last successful run (per step, `1970-01-01T00:00:00Z` before the first run); ISO 8601 unless ` format=<pattern>` is given, e.g. `{{LastSuccessfulRunDate format=yyyy-MM-dd}}`.",
    acceptsFormat: true,
  },
  Webhook_Url: { description: 'URL of the webhook step being subscribed; sent by a webhook create method.', acceptsFormat: false },
  Webhook_Id: { description: 'Subscription id returned by the webhook create method; used by update/delete methods.', acceptsFormat: false },
  AccountId: { description: 'Plexus id of the account running the step.', acceptsFormat: false },
  ExternalAccountId: { description: "The partner's own id for the account (`externalId`).", acceptsFormat: false },
  CycleId: { description: 'Id of the running cycle.', acceptsFormat: false },
  TransactionId: { description: 'Id of the running transaction.', acceptsFormat: false },
} as const satisfies Record<string, { description: string; acceptsFormat: boolean }>

/** Credentials of the account connector's authentication; `authFields` keys are added to these. */
export const AUTH_VARIABLES = {
  ApiKey: 'The API key (apiKey authentication).',
  Username: 'The user name (basic authentication, oauth2 password grant).',
  Password: 'The password (basic authentication, oauth2 password grant).',
  AccessToken: 'The current OAuth2 access token.',
} as const

/** Inbound paging variables (SPEC §3); `PAGE_TOKEN_<SUFFIX>` adds any number of cursor pairs. */
export const PAGING_VARIABLES = {
  PAGE_NUMBER: 'Current page, from 1.',
  PAGE_OFFSET: 'Row offset, from 0: (PAGE_NUMBER - 1) × PAGE_SIZE.',
  PAGE_SIZE: 'Page size of the method, else of the release.',
  PAGE_NEXT_URL: 'Read by a responseField parameter (body path or `header:Link`); the next request goes to that URL.',
  PAGE_TOKEN: 'Cursor: read by a responseField parameter, sent by a query/body/header parameter using the same variable.',
} as const

export type BuiltInVariable = keyof typeof BUILT_IN_VARIABLES
export type AuthVariable = keyof typeof AUTH_VARIABLES

const PAGE_TOKEN = /^PAGE_TOKEN(?:_[A-Za-z0-9]\w*)?$/
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Cyclr spells the paging variables `CYCLR_PAGE_*`; both spellings are accepted, `PAGE_*` is canonical. */
export const canonicalVariable = (name: string): string => (name.startsWith('CYCLR_PAGE_') ? name.slice('CYCLR_'.length) : name)

/** `PAGE_TOKEN` or `PAGE_TOKEN_<SUFFIX>` (suffix: letters, digits, underscores), in either spelling. */
export const isPageTokenVariable = (name: string): boolean => PAGE_TOKEN.test(canonicalVariable(name))
export const isPagingVariable = (name: string): boolean => Object.hasOwn(PAGING_VARIABLES, canonicalVariable(name)) || isPageTokenVariable(name)

/**
 * A method parameter whose value is `{{IGNORE_PARAMETER}}` (Cyclr: `CYCLR_IGNORE_PARAMETER`, braces
 * optional) removes the inherited connector parameter of the same name for that method.
 */
export const isIgnoreParameterValue = (value: string): boolean => /^(\{\{)?\s*(CYCLR_)?IGNORE_PARAMETER\s*(\}\})?$/.test(value)
export const isBuiltInVariable = (name: string): name is BuiltInVariable => Object.hasOwn(BUILT_IN_VARIABLES, name)

export interface TemplateToken {
  /** The whole `{{...}}` text. */
  raw: string
  name: string
  /** The pattern after ` format=`, when given. */
  format?: string
  offset: number
}

export interface TemplateScan {
  tokens: TemplateToken[]
  /** Malformed placeholders: unclosed `{{`, bad names, unknown options. */
  errors: { offset: number; message: string }[]
}

/** Finds every `{{Name}}` / `{{Name format=...}}` placeholder; compiled once per release by the runtime. */
export function scanTemplate(text: string): TemplateScan {
  const scan: TemplateScan = { tokens: [], errors: [] }
  let from = 0
  for (;;) {
    const open = text.indexOf('{{', from)
    if (open < 0) return scan
    const close = text.indexOf('}}', open + 2)
    if (close < 0) {
      scan.errors.push({ offset: open, message: `unclosed "{{" in ${JSON.stringify(text)}` })
      return scan
    }
    const raw = text.slice(open, close + 2)
    const inner = raw.slice(2, -2).trim()
    const [name, ...rest] = inner.split(/\s+/)
    const option = inner.slice(name.length).trim()
    if (!NAME.test(name)) {
      scan.errors.push({ offset: open, message: `${raw} is not a valid variable reference (a name is letters, digits and "_")` })
    } else if (rest.length === 0) {
      scan.tokens.push({ raw, name, offset: open })
    } else if (option.startsWith('format=') && option.length > 'format='.length) {
      scan.tokens.push({ raw, name, format: option.slice('format='.length), offset: open })
    } else {
      scan.errors.push({ offset: open, message: `${raw}: the only option is " format=<pattern>"` })
    }
    from = close + 2
  }
}

/** Names used by a template, in order, without duplicates (malformed placeholders ignored). */
export const templateVariables = (text: string): string[] => [...new Set(scanTemplate(text).tokens.map((t) => t.name))]

// The connector definition language (SPEC §2) as TypeBox schemas: one source for the TypeScript
// types, the validator and the JSON Schema published at /v1/schemas/connector-definition.json.
// Every component carries a description and, where it helps, examples.
import { Type, type Static } from 'typebox'

const strict = { additionalProperties: false } as const

/** A `{{merge field}}` template; the variables a template may use are listed in docs/definition.md. */
const Template = (description: string, examples?: string[]) =>
  Type.String({ description, ...(examples ? { examples } : {}) })

const Identifier = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  description: 'A stable identifier: letters, digits, ".", "_" and "-"; kept across releases.',
})

const SystemName = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
  description: 'A system name (PascalCase by convention): the name used in templates and merge fields.',
  examples: ['ContactId', 'Subdomain'],
})

export const FIELD_TYPES = ['text', 'integer', 'float', 'decimal', 'boolean', 'datetime', 'file'] as const
export const BODY_FORMATS = ['json', 'form', 'xml', 'text', 'multipart'] as const
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const
export const PARAMETER_TARGETS = ['header', 'query', 'mergeField', 'body', 'responseField', 'script'] as const
export const PARAMETER_SCOPES = ['account', 'partner', 'fixed', 'step'] as const
export const RELEASE_STATUSES = ['Unknown', 'Approved', 'Beta', 'Planned'] as const
export const METHOD_TYPES = ['action', 'webhook', 'script'] as const

const literals = <T extends readonly string[]>(values: T, description: string) =>
  Type.Union(values.map((v) => Type.Literal(v)) as never, { description }) as unknown as ReturnType<
    typeof Type.Unsafe<T[number]>
  >

export const RateLimits = Type.Object(
  {
    requestsPerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10000, description: 'Maximum requests per second, per account connector.' })),
    secondsBetweenRequests: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86400, description: 'Minimum seconds between two requests, per account connector.' })),
    override: Type.Optional(Type.Boolean({ description: 'Method level only: replace the connector limits instead of applying the stricter of both.' })),
  },
  { ...strict, description: 'Rate limits applied per account connector. Excess calls are delayed, never dropped.', examples: [{ requestsPerSecond: 5 }] },
)

export const Parameter = Type.Object(
  {
    name: SystemName,
    displayName: Type.Optional(Type.String({ maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    target: literals(PARAMETER_TARGETS, 'Where the value goes: an HTTP header, a query-string parameter, a `{{merge field}}` in the path/base URL, a body path, a value read from the response (paging cursors), or a script parameter.'),
    targetName: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Header name, query name, body path or response path; defaults to `name`. For responseField, `header:Link` reads the `rel="next"` URL of a Link header.' })),
    value: Type.Optional(Template('The value template. Variables: connector parameters, auth variables (ApiKey, Username, Password, AccessToken, authFields keys), built-ins (LastSuccessfulRunDate [format=…], Webhook_Url, Webhook_Id, AccountId, ExternalAccountId, CycleId, TransactionId), paging variables (PAGE_NUMBER, PAGE_OFFSET, PAGE_SIZE, PAGE_NEXT_URL, PAGE_TOKEN, PAGE_TOKEN_<SUFFIX>); in a method, also its parameters and request fields.', ['{{PAGE_NUMBER}}', 'Bearer {{ApiKey}}'])),
    default: Type.Optional(Type.String({ description: 'Used when no value is given.' })),
    scope: Type.Optional(literals(PARAMETER_SCOPES, '`account`: asked when the connector is installed; `partner`: set once by the partner; `fixed`: always `value`; `step` (default for method parameters): set on each step.')),
    optional: Type.Optional(Type.Boolean()),
    hidden: Type.Optional(Type.Boolean()),
    sensitive: Type.Optional(Type.Boolean({ description: 'Masked in responses and encrypted at rest.' })),
    multiline: Type.Optional(Type.Boolean()),
    lookup: Type.Optional(Type.String({ description: 'Name of a lookup that offers the values.' })),
  },
  { ...strict, description: 'A parameter of the connector or of one method.', examples: [{ name: 'Subdomain', target: 'mergeField', scope: 'account' }, { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}', hidden: true }] },
)

export const Field = Type.Object(
  {
    location: Type.String({ minLength: 1, maxLength: 500, description: 'Path in the request or response body (relative to the record for list methods): `a.b`, `items[0].id`, `tags[]`.', examples: ['properties.email'] }),
    field: SystemName,
    displayName: Type.Optional(Type.String({ maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    type: Type.Optional(literals(FIELD_TYPES, 'Declared type; values are coerced to it. Default `text`.')),
    format: Type.Optional(Type.String({ description: 'Datetime format, e.g. `iso8601`, `unix`, `unixms` or a pattern like `yyyy-MM-dd`.' })),
    optional: Type.Optional(Type.Boolean({ description: 'Request fields: not required to be mapped.' })),
    default: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    lookup: Type.Optional(Type.String()),
    hidden: Type.Optional(Type.Boolean()),
    readOnly: Type.Optional(Type.Boolean()),
  },
  { ...strict, description: 'A request or response field.', examples: [{ location: 'id', field: 'ContactId', type: 'text' }] },
)

export const Paging = Type.Object(
  {
    inbound: Type.Optional(Type.Boolean({ description: 'Method override of the release `inboundPaging`.' })),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    maxPages: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, description: 'Guard: stop (with a warning) after this many pages. Default 1000.' })),
    totalCountPath: Type.Optional(Type.String({ description: 'Response path of the total record count; paging stops once that many records were read.' })),
    hasMorePath: Type.Optional(Type.String({ description: 'Response path of a "more pages" boolean (e.g. Stripe\'s `has_more`); paging stops when it is false.', examples: ['has_more'] })),
    outbound: Type.Optional(Type.Boolean()),
    outboundPageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    outboundLocation: Type.Optional(Type.String({ description: 'Request path of the array sent in chunks, e.g. `data.records`.' })),
  },
  { ...strict, description: 'Paging settings (SPEC §3). The paging style itself is wired with parameters using PAGE_* variables.' },
)

export const WebhookSettings = Type.Object(
  {
    createMethod: Type.Optional(Type.String({ description: 'Method called on activation with `{{Webhook_Url}}`; its response gives `Webhook_Id`.' })),
    deleteMethod: Type.Optional(Type.String()),
    updateMethod: Type.Optional(Type.String({ description: 'Renews an expiring subscription.' })),
    webhookIdLocation: Type.Optional(Type.String({ description: 'Response path of the subscription id (default `id`).' })),
    expiresAfterSeconds: Type.Optional(Type.Integer({ minimum: 60, description: 'Fixed lifetime of a subscription (seconds from its creation or renewal); used when `expiresAtLocation` gives nothing.' })),
    expiresAtLocation: Type.Optional(Type.String({ description: 'Response path (of createMethod and updateMethod) of the subscription expiry: an ISO 8601 date-time, or epoch seconds or milliseconds. A subscription that expires is renewed with `updateMethod` before it lapses.' })),
    eventType: Type.Optional(
      Type.Object(
        {
          location: Type.Optional(Type.String()),
          header: Type.Optional(Type.String()),
          values: Type.Array(Type.String(), { minItems: 1 }),
        },
        { ...strict, description: 'Singular partner webhook URL: which deliveries this method receives.' },
      ),
    ),
  },
  strict,
)

export const Method = Type.Object(
  {
    id: Identifier,
    name: Type.String({ minLength: 1, maxLength: 200, description: 'Get/List/Create/Update/Delete/Search + noun.', examples: ['List Contacts'] }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    category: Type.Optional(Type.String({ maxLength: 100 })),
    subcategory: Type.Optional(Type.String({ maxLength: 100 })),
    type: Type.Optional(literals(METHOD_TYPES, '`action` (default): an HTTP call; `webhook`: a trigger fed by deliveries; `script`: no HTTP call.')),
    hidden: Type.Optional(Type.Boolean()),
    http: Type.Optional(
      Type.Object(
        {
          method: literals(HTTP_METHODS, 'HTTP verb'),
          path: Template('Path appended to the base URL, with `{{merge fields}}`; may be an absolute URL. Variables: connector and method parameters, request fields, auth, paging and built-in variables.', ['/contacts/{{ContactId}}']),
          idempotent: Type.Optional(Type.Boolean({ description: 'Lets 5xx/network failures of a POST/PATCH be retried.' })),
          headers: Type.Optional(Type.Record(Type.String(), Type.String())),
        },
        strict,
      ),
    ),
    parameters: Type.Optional(Type.Array(Parameter)),
    request: Type.Optional(
      Type.Object(
        {
          format: Type.Optional(literals(BODY_FORMATS, 'Request body format; default json.')),
          xmlRoot: Type.Optional(Type.String()),
          fields: Type.Optional(Type.Array(Field)),
        },
        strict,
      ),
    ),
    response: Type.Optional(
      Type.Object(
        {
          format: Type.Optional(literals(['json', 'xml', 'text'] as const, 'Override the format otherwise taken from Content-Type.')),
          fields: Type.Optional(Type.Array(Field)),
        },
        strict,
      ),
    ),
    records: Type.Optional(Type.String({ description: 'Location of the record array in the response (`data`, `result.items`); `""` or `.` for a top-level array.' })),
    paging: Type.Optional(Paging),
    rateLimits: Type.Optional(RateLimits),
    script: Type.Optional(Type.String({ description: 'Method-level event handlers (SPEC §4).' })),
    webhook: Type.Optional(WebhookSettings),
  },
  { ...strict, description: 'A method: one HTTP call (or webhook, or script) with its parameters and fields.' },
)

const AuthBase = {
  id: Identifier,
  name: Type.String({ minLength: 1, maxLength: 100 }),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  default: Type.Optional(Type.Boolean({ description: 'The authentication used when an install does not choose one.' })),
}

export const Authentication = Type.Union(
  [
    Type.Object({ ...AuthBase, type: Type.Literal('none') }, strict),
    Type.Object(
      {
        ...AuthBase,
        type: Type.Literal('apiKey'),
        in: literals(['header', 'query'] as const, 'Where the key goes.'),
        header: Type.Optional(Type.String({ minLength: 1, description: 'Header name when `in: header`.' })),
        query: Type.Optional(Type.String({ minLength: 1, description: 'Query name when `in: query`.' })),
        value: Type.Optional(Template('Value template; default `{{ApiKey}}`. Variables: connector parameters, auth and built-in variables.', ['Bearer {{ApiKey}}'])),
      },
      strict,
    ),
    Type.Object({ ...AuthBase, type: Type.Literal('basic') }, strict),
    Type.Object(
      {
        ...AuthBase,
        type: Type.Literal('oauth2'),
        grant: literals(['authorizationCode', 'clientCredentials', 'password'] as const, 'OAuth2 grant type'),
        authorizeUrl: Type.Optional(Type.String()),
        tokenUrl: Type.String({ minLength: 1 }),
        refreshUrl: Type.Optional(Type.String()),
        scopes: Type.Optional(Type.Array(Type.String())),
        scopeSeparator: Type.Optional(Type.String()),
        pkce: Type.Optional(Type.Boolean()),
        clientAuth: Type.Optional(literals(['body', 'basic'] as const, 'How the client id/secret are sent to the token URL.')),
        clientCredentialsFrom: Type.Optional(literals(['partner', 'account'] as const, 'Where ClientId/ClientSecret come from (partner properties by default; per-account override always wins).')),
        tokenPlacement: Type.Optional(Type.Object({ header: Type.Optional(Type.String()), prefix: Type.Optional(Type.String()), query: Type.Optional(Type.String()) }, strict)),
        extraAuthorizeParams: Type.Optional(Type.Record(Type.String(), Type.String())),
        extraTokenParams: Type.Optional(Type.Record(Type.String(), Type.String())),
      },
      strict,
    ),
    Type.Object(
      {
        ...AuthBase,
        type: Type.Literal('authFields'),
        fields: Type.Array(
          Type.Object(
            {
              key: SystemName,
              label: Type.Optional(Type.String()),
              target: literals(['header', 'query', 'body'] as const, 'Where the value goes.'),
              targetName: Type.Optional(Type.String()),
              sensitive: Type.Optional(Type.Boolean()),
              optional: Type.Optional(Type.Boolean()),
            },
            strict,
          ),
          { minItems: 1 },
        ),
      },
      strict,
    ),
  ],
  { description: 'One way to authenticate. A release may offer several; one is the default.' },
)

export const Lookup = Type.Object(
  {
    name: Identifier,
    method: Type.String({ minLength: 1, description: 'Id of the method that lists the values.' }),
    valuePath: Type.String({ minLength: 1, description: 'Path of the value within each record.' }),
    labelPath: Type.String({ minLength: 1, description: 'Path of the label within each record.' }),
    searchParameter: Type.Optional(Type.String({ description: 'Parameter that receives a search term.' })),
  },
  { ...strict, description: 'A pick list (Cyclr "trigger"): `[{value, label}]` read through a method.' },
)

export const WebhookRouting = Type.Object(
  {
    key: Type.Object({ location: Type.Optional(Type.String()), header: Type.Optional(Type.String()) }, strict),
    match: Type.Object(
      { property: Type.Optional(Type.String({ description: 'Account connector property compared with the key.' })), externalId: Type.Optional(Type.Boolean()) },
      strict,
    ),
    signature: Type.Optional(
      Type.Object(
        {
          header: Type.String(),
          algorithm: literals(['sha1', 'sha256', 'sha512'] as const, 'HMAC algorithm'),
          encoding: Type.Optional(literals(['hex', 'base64'] as const, 'default hex')),
          prefix: Type.Optional(Type.String({ examples: ['sha256='] })),
          secretProperty: Type.String({ description: 'Partner property holding the signing secret.' }),
        },
        strict,
      ),
    ),
    dedupe: Type.Optional(Type.Object({ location: Type.Optional(Type.String()), header: Type.Optional(Type.String()) }, strict)),
  },
  { ...strict, description: 'Singular partner webhook URL: how a delivery finds its accounts (SPEC §6).' },
)

export const Migrations = Type.Object(
  {
    migrate_step: Type.Optional(
      Type.String({
        maxLength: 100000,
        description:
          'JavaScript run in the sandbox when a step is upgraded to this release (docs/upgrades.md): it declares `function migrate_step(step, context)`, gets the step\'s old `{methodId, fields, parameters, userConfigurable, userValues}` and `context` `{stepKey, kind, from: {releaseId, version, method}, to: {…}}`, and returns the new step (missing keys are kept; nothing: unchanged). A throw stops that step\'s upgrade only.',
        examples: ['function migrate_step(step) { if (step.fields.Name) { step.fields.FullName = step.fields.Name; delete step.fields.Name } return step }'],
      }),
    ),
  },
  { ...strict, description: 'Upgrade scripts of this release (beyond Cyclr): how steps pinned to older releases are rewritten when they move to it.' },
)

export const ConnectorDefinition = Type.Object(
  {
    definitionVersion: Type.Optional(Type.Literal(1)),
    baseUrl: Type.Optional(Template('Base URL of the API, with `{{merge fields}}`. Variables: connector parameters, auth and built-in variables.', ['https://{{Subdomain}}.example.com/api/v2'])),
    authentications: Type.Optional(Type.Array(Authentication)),
    parameters: Type.Optional(Type.Array(Parameter)),
    lookups: Type.Optional(Type.Array(Lookup)),
    methods: Type.Optional(Type.Array(Method)),
    paging: Type.Optional(Paging),
    rateLimits: Type.Optional(RateLimits),
    script: Type.Optional(Type.String({ description: 'Connector-level event handlers (SPEC §4).' })),
    webhookRouting: Type.Optional(WebhookRouting),
    migrations: Type.Optional(Migrations),
  },
  {
    ...strict,
    $id: 'https://plexus.dev/schemas/connector-definition.json',
    title: 'Plexus connector definition',
    description: 'One release of a custom connector: how to reach and authenticate to an API, and its methods.',
  },
)

export const ReleaseSettings = Type.Object(
  {
    status: Type.Optional(literals(RELEASE_STATUSES, 'Unknown (default), Approved, Beta (installable with enableBetaConnectors) or Planned (never installable).')),
    comments: Type.Optional(Type.String({ maxLength: 10000 })),
    postInstallPropertyLookupMethod: Type.Optional(Type.String({ minLength: 1 })),
    postInstallTestAuthMethod: Type.Optional(Type.String({ minLength: 1 })),
    postInstallPropertyMappings: Type.Optional(
      Type.Array(
        Type.Object(
          {
            property: SystemName,
            location: Type.String({ minLength: 1, maxLength: 500, description: 'Path in the response body of the property lookup method, e.g. `data.session.token`.' }),
          },
          { ...strict, description: 'Sets an account property from a value of the post-install property lookup response.' },
        ),
        {
          description:
            'Optional. Where the post-install property lookup method finds each account property. Without it, every response field of that method whose system name is an account-scope connector parameter sets that property (from the first record).',
          examples: [[{ property: 'SessionToken', location: 'session.token' }]],
        },
      ),
    ),
    inboundPaging: Type.Optional(Type.Boolean()),
    inboundPageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    outboundPaging: Type.Optional(Type.Boolean()),
    outboundPageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    useSingularPartnerWebhookUrl: Type.Optional(Type.Boolean()),
  },
  { ...strict, description: 'Release settings (seed "Release Settings").' },
)

export type RateLimits = Static<typeof RateLimits>
export type Parameter = Static<typeof Parameter>
export type Field = Static<typeof Field>
export type Paging = Static<typeof Paging>
export type Method = Static<typeof Method>
export type Authentication = Static<typeof Authentication>
export type Lookup = Static<typeof Lookup>
export type WebhookRouting = Static<typeof WebhookRouting>
export type ConnectorDefinition = Static<typeof ConnectorDefinition>
export type ReleaseSettings = Static<typeof ReleaseSettings>
export type FieldType = (typeof FIELD_TYPES)[number]
export type BodyFormat = (typeof BODY_FORMATS)[number]
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number]

// The shape of a template (SPEC §5): ordered steps, a trigger first, then actions, decisions and
// delays. One TypeBox schema gives the API validation, the OpenAPI document and the types.
import { Type, type Static } from 'typebox'

const strict = { additionalProperties: false } as const
const StepKey = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_-]*$', description: 'Stable key of the step within the template, e.g. `trigger`, `create-contact`.' })

export const Mapping = Type.Union(
  [
    Type.Object({ type: Type.Literal('static'), value: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]) }, strict),
    Type.Object({ type: Type.Literal('template'), value: Type.String({ description: 'Text with `{{merge fields}}`: `{{stepKey.Field}}` of an earlier step, or a built-in like `{{LastSuccessfulRunDate}}`.' }) }, strict),
    Type.Object({ type: Type.Literal('step'), step: StepKey, field: Type.String({ minLength: 1 }) }, { ...strict, description: "A previous step's response field." }),
    Type.Object({ type: Type.Literal('script'), value: Type.String({ pattern: '^=', description: 'An inline JavaScript expression starting with `=`.' }) }, strict),
    Type.Object({ type: Type.Literal('lookup'), lookup: Type.String({ minLength: 1 }), value: Type.Optional(Type.String()), label: Type.Optional(Type.String()) }, { ...strict, description: 'A value chosen from a lookup of the connector.' }),
  ],
  { description: 'Where a field or parameter value comes from.' },
)

export const ERROR_ACTIONS = ['ignore', 'retry', 'stopTransaction', 'stopCycle'] as const
export const DECISION_OPERATORS = ['equals', 'notEquals', 'contains', 'notContains', 'startsWith', 'endsWith', 'greaterThan', 'lessThan', 'isEmpty', 'isNotEmpty'] as const
export const DELAY_UNITS = ['seconds', 'minutes', 'hours', 'days'] as const

const enumOf = <T extends readonly string[]>(values: T, description: string) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description })

export const ErrorAction = Type.Object(
  {
    action: enumOf(ERROR_ACTIONS, 'ignore the error, retry after an escalating wait, stop the transaction, or stop (pause) the cycle'),
    retries: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, description: 'retry only: attempts after the first (default 3)' })),
  },
  strict,
)

const Route = Type.Union([StepKey, Type.Literal('end')], { description: 'The step to continue with, or `end` to finish the transaction.' })

export const Step = Type.Object(
  {
    key: StepKey,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    type: enumOf(['trigger', 'action', 'decision', 'delay'] as const, 'A trigger (polling or webhook method) first, then actions, decisions and delays.'),
    connector: Type.Optional(
      Type.Object(
        {
          connectorId: Type.String({ minLength: 1 }),
          releaseId: Type.Optional(Type.String({ minLength: 1, description: 'Pinned release; defaults to the live release when the template is saved.' })),
          methodId: Type.String({ minLength: 1 }),
        },
        strict,
      ),
    ),
    fields: Type.Optional(Type.Record(Type.String(), Mapping, { description: 'Request field mappings by system field name.' })),
    parameters: Type.Optional(Type.Record(Type.String(), Mapping, { description: 'Method parameter values by parameter name.' })),
    userConfigurable: Type.Optional(Type.Array(Type.String(), { description: 'Field or parameter names left for each installation to set.' })),
    script: Type.Optional(Type.String({ description: 'Step-level event handlers.' })),
    onError: Type.Optional(ErrorAction),
    decision: Type.Optional(
      Type.Object(
        {
          left: Mapping,
          operator: enumOf(DECISION_OPERATORS, 'comparison'),
          right: Type.Optional(Mapping),
        },
        strict,
      ),
    ),
    routes: Type.Optional(Type.Object({ onTrue: Type.Optional(Route), onFalse: Type.Optional(Route) }, { ...strict, description: 'Decisions, and methods with an `action_condition` script: where each outcome goes. Default: true → next step, false → end.' })),
    delay: Type.Optional(Type.Object({ amount: Type.Integer({ minimum: 1 }), unit: enumOf(DELAY_UNITS, 'unit') }, strict)),
  },
  strict,
)

export const TemplateSettings = Type.Object(
  {
    onError: Type.Optional(ErrorAction),
    logStepRequests: Type.Optional(Type.Boolean({ description: 'Keep request/response logs of each step (default true).' })),
    retentionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, description: 'Days step logs are kept (default 31).' })),
  },
  strict,
)

export const TemplateInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    settings: Type.Optional(TemplateSettings),
    steps: Type.Array(Step, { maxItems: 100 }),
  },
  strict,
)

export type Mapping = Static<typeof Mapping>
export type Step = Static<typeof Step>
export type ErrorAction = Static<typeof ErrorAction>
export type TemplateSettings = Static<typeof TemplateSettings>
export type TemplateInput = Static<typeof TemplateInput>

// One catalogue of coded errors. The API renders every one as {error: {code, message, details?}};
// docs/errors.md lists every code (a test checks it).
export interface ErrorDetail {
  path?: string
  message: string
  [k: string]: unknown
}

export class PlexusError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
    this.name = 'PlexusError'
  }
}

/** Every code with its status and what it means: the single source for docs/errors.md. */
export const ERROR_CODES = {
  BAD_REQUEST: [400, 'The request is malformed or a value is invalid; `details` names each field.'],
  INVALID_JSON: [400, 'The body is not valid JSON.'],
  INVALID_DEFINITION: [400, 'A draft definition or settings are not well-formed; `details` lists every problem.'],
  INVALID_ICON: [400, 'The icon is not a 400x400 PNG, or is corrupt.'],
  UNAUTHORIZED: [401, 'Missing, unknown or revoked API key or admin token.'],
  WEBHOOK_SIGNATURE_INVALID: [401, "A delivery to a singular partner webhook URL has a missing or wrong signature (HMAC of the raw body, or the partner's secret property is not set); nothing was recorded or run."],
  PLAN_LIMIT: [403, "The partner's price plan does not allow this."],
  NOT_FOUND: [404, 'No such object for this partner (also for objects of other partners).'],
  DRAFT_EXISTS: [409, 'The connector already has a draft release.'],
  RELEASE_NOT_DRAFT: [409, 'Only a draft release can be edited, deleted or pushed.'],
  RELEASE_NOT_DEPRECATED: [409, 'Only a deprecated release can be given a sunset date (a draft or the live release cannot).'],
  RELEASE_SUNSET: [409, 'The release reached its sunset date: new installs pinned to it (a template install into an account) are refused; `details.releases` lists them. Upgrade the template to the live release first. Running cycles keep running.'],
  BREAKING_MINOR: [409, 'A minor push whose diff is breaking; `details` lists the breaking changes. Use `force: true` or push major.'],
  CONNECTOR_IN_USE: [409, 'The connector is used by a template or cycle step, or installed in an account.'],
  READ_ONLY: [403, 'Built-in library connectors cannot be changed by any partner.'],
  CONFLICT: [409, 'The request conflicts with the current state.'],
  PREREQUISITES_UNMET: [409, 'The cycle cannot be activated or run; `details` lists each prerequisite with its reason code.'],
  NO_LIVE_RELEASE: [409, 'The connector has no live release.'],
  UPGRADE_BLOCKED: [409, 'The upgrade would leave a template invalid or a cycle unrunnable; `details` is the dry-run report. Fix the mappings, or (cycles) pass `force: true` to upgrade and pause.'],
  EXTERNAL_ID_TAKEN: [409, 'Another account of the partner already has this externalId.'],
  ACCOUNT_HAS_SUBACCOUNTS: [409, 'An account with sub-accounts cannot be deleted; delete or move the sub-accounts first.'],
  NOT_INSTALLABLE: [409, "The connector's live release cannot be installed: it is Planned, or Beta while the partner has not enabled beta connectors."],
  NOT_AUTHENTICATED: [409, 'The account connector is not authenticated (no credentials, a failed test-auth, or a failed token refresh); `details.reason` says why.'],
  OAUTH_NOT_CONFIGURED: [409, 'OAuth2 authorization is not possible for this account connector: not an authorization-code authentication, or no client id / authorize URL.'],
  OAUTH_STATE_INVALID: [400, 'The OAuth2 callback `state` is missing, altered, expired or already used.'],
  WEBHOOK_INACTIVE: [410, 'The webhook URL belongs to a cycle that is not active (paused, stopped by an error); the delivery was not recorded and nothing ran.'],
  WEBHOOK_SUBSCRIPTION_FAILED: [502, "The webhook subscription (the method's createMethod) failed or returned no id; the cycle is not active (status `error`) and an incident is recorded."],
  PAYLOAD_TOO_LARGE: [413, 'The body is larger than the limit.'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'The Content-Type is not accepted by this route.'],
  VALIDATION_FAILED: [422, 'The release cannot be pushed; `details` lists every {path, message}.'],
  INTERNAL: [500, 'An unexpected error; it has been logged.'],
  SECRET_UNREADABLE: [500, 'A stored secret cannot be decrypted: PLEXUS_SECRET_KEY changed, or the stored value was moved or altered.'],
} as const satisfies Record<string, readonly [number, string]>

export type ErrorCode = keyof typeof ERROR_CODES

export const fail = (code: ErrorCode, message: string, details?: unknown) =>
  new PlexusError(code, ERROR_CODES[code][0], message, details)

export const notFound = (what: string, id: string) => fail('NOT_FOUND', `${what} ${id} not found`)

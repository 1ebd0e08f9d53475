// How the engine calls a connector method for a cycle step: with the account connector's
// credentials and properties, on the release the step is pinned to. Implemented by the account
// connector service (it owns the credentials); the engine only sees pages of records.
import type { MethodPage } from '../runtime/executor.js'
import type { ScriptOutcome } from '../runtime/action-scripts.js'

export interface MethodInvocation {
  partnerId: string
  accountId: string
  accountConnectorId: string
  connectorId: string
  releaseId: string
  methodId: string
  parameters: Record<string, string>
  fields: Record<string, unknown>
  /** LastSuccessfulRunDate, AccountId, ExternalAccountId, CycleId, TransactionId */
  builtIns: Record<string, string>
  maxPages?: number
  signal?: AbortSignal
  /** The cycle step: its id (`cycle_step_id`) and its step-level script. */
  step?: { id: string; script?: string | null }
  /** What the scripts decided (action_condition's route, after_action_paging's next LastSuccessfulRunDate), once the call ends. */
  onScriptOutcome?: (outcome: ScriptOutcome) => void
}

export interface MethodInvoker {
  /** Streams the pages; errors (HTTP, auth, coercion, input) are thrown from the iteration. */
  pages(invocation: MethodInvocation): AsyncIterable<Pick<MethodPage, 'records' | 'request' | 'response' | 'durationMs'>>
}

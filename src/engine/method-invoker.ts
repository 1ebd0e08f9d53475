// How the engine calls a connector method for a cycle step: with the account connector's
// credentials and properties, on the release the step is pinned to. Implemented by the account
// connector service (it owns the credentials); the engine only sees pages of records.
import type { MethodPage } from '../runtime/executor.js'

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
}

export interface MethodInvoker {
  /** Streams the pages; errors (HTTP, auth, coercion, input) are thrown from the iteration. */
  pages(invocation: MethodInvocation): AsyncIterable<Pick<MethodPage, 'records' | 'request' | 'response' | 'durationMs'>>
}

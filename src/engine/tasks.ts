// The engine's job types: a trigger firing and one transaction's next steps.
import { Type } from 'typebox'
import { defineTasks, type PayloadsOf } from './queue/job-queue.js'

export const engineTasks = defineTasks({
  'cycle.poll': Type.Object({ cycleId: Type.String(), manual: Type.Optional(Type.Boolean()) }),
  'transaction.run': Type.Object({ transactionId: Type.String() }),
  'maintenance.retention': Type.Object({}),
  /** renews a webhook subscription before it lapses (WebhookService.renew) */
  'webhook.renew': Type.Object({ endpointId: Type.String(), expiresAt: Type.String(), attempt: Type.Optional(Type.Integer({ minimum: 1 })) }),
})

export type EngineTasks = PayloadsOf<typeof engineTasks>

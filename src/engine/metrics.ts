// Prometheus metrics of the engine (GET /metrics): queue depth, transactions, step latency, HTTP
// calls by status. One registry per app, so tests and several apps in a process do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export class EngineMetrics {
  readonly registry = new Registry()
  readonly transactions = new Counter({ name: 'plexus_transactions_total', help: 'Transactions by event (started, succeeded, failed, stopped).', labelNames: ['event'] as const, registers: [this.registry] })
  readonly stepLatency = new Histogram({ name: 'plexus_step_duration_seconds', help: 'Duration of connector steps.', labelNames: ['type', 'outcome'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] })
  readonly httpCalls = new Counter({ name: 'plexus_http_calls_total', help: 'Outbound API calls made by steps, by HTTP status (or error kind).', labelNames: ['status'] as const, registers: [this.registry] })
  readonly queueDepth = new Gauge({ name: 'plexus_queue_jobs', help: 'Jobs in the durable queue by state.', labelNames: ['state'] as const, registers: [this.registry] })

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'plexus_' })
  }
}

// Composition root: config → store → services → API.
import { buildApp } from './api/build-app.js'
import { loadConfig } from './config/config.js'
import { createServices } from './services/services.js'
import { redactPaths } from './shared/logging.js'

export async function serve(): Promise<void> {
  const config = loadConfig()
  const services = await createServices(config, { defaultMetrics: true })
  const app = await buildApp({ services, bodyLimitBytes: config.bodyLimitBytes, logger: { level: config.logLevel, redact: redactPaths } })
  // Embedded mode runs the engine in this process. On PostgreSQL it does too unless
  // PLEXUS_WORKER=off (API-only nodes, with `plexus worker` processes elsewhere).
  if (process.env.PLEXUS_WORKER !== 'off') await services.engine.start({ concurrency: Number(process.env.PLEXUS_WORKER_CONCURRENCY ?? 4) })
  if (config.adminTokenGenerated) {
    // Shown once, on the first start; it is kept in the data folder (mode 600).
    process.stdout.write(`\nPLEXUS_ADMIN_TOKEN was not set; generated one (saved in ${config.dataDir}/admin-token):\n\n  ${config.adminToken}\n\n`)
  }
  const close = async () => {
    await app.close()
    await services.queue.stop({ timeoutMs: 10_000 })
    await services.close()
    process.exit(0)
  }
  process.once('SIGINT', close)
  process.once('SIGTERM', close)
  await app.listen({ port: config.port, host: config.host })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}

/** `plexus worker`: the engine's jobs without the HTTP API (scale-out on PostgreSQL). */
export async function work(): Promise<void> {
  const config = loadConfig()
  const services = await createServices(config, { defaultMetrics: true })
  await services.engine.start({ concurrency: Number(process.env.PLEXUS_WORKER_CONCURRENCY ?? 4) })
  process.stdout.write(`plexus worker running on ${services.store.database.dialect}\n`)
  const close = async () => {
    await services.queue.stop({ timeoutMs: 30_000 })
    await services.close()
    process.exit(0)
  }
  process.once('SIGINT', close)
  process.once('SIGTERM', close)
}

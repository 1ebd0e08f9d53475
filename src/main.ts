// Composition root: config → store → services → API.
import { buildApp } from './api/build-app.js'
import { loadConfig } from './config/config.js'
import { createServices } from './services/services.js'
import { redactPaths } from './shared/logging.js'

export async function serve(): Promise<void> {
  const config = loadConfig()
  const services = await createServices(config)
  const app = await buildApp({ services, bodyLimitBytes: config.bodyLimitBytes, logger: { level: config.logLevel, redact: redactPaths } })
  if (config.adminTokenGenerated) {
    // Shown once, on the first start; it is kept in the data folder (mode 600).
    process.stdout.write(`\nPLEXUS_ADMIN_TOKEN was not set; generated one (saved in ${config.dataDir}/admin-token):\n\n  ${config.adminToken}\n\n`)
  }
  const close = async () => {
    await app.close()
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

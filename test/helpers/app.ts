// A real Plexus app (real database, real services) for route tests through inject().
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/api/build-app.js'
import type { HttpSender } from '../../src/runtime/exchange.js'
import type { Clock } from '../../src/shared/clock.js'
import { createServices, type Services, type ServicesConfig, type ServicesOptions } from '../../src/services/services.js'
import { createTestDatabase, type TestDatabase } from './databases.js'

export const ADMIN_TOKEN = 'test-admin-token'

export interface TestApp {
  app: FastifyInstance
  services: Services
  db: TestDatabase
  close(): Promise<void>
  /** inject with JSON and a bearer token */
  call(method: string, url: string, opts?: { key?: string; body?: unknown; headers?: Record<string, string>; payload?: string | Buffer }): Promise<LightMyRequestResponse>
  newPartner(name?: string, extra?: object): Promise<{ id: string; apiKey: string; keyId: string }>
}

export interface TestAppOptions {
  bodyLimitBytes?: number
  webhookBodyLimitBytes?: number
  /** Extra service config, e.g. `{ allowPrivateNetwork: true }` for calls to local test servers. */
  config?: Partial<ServicesConfig>
  clock?: Clock
  http?: HttpSender
  /** A fastify logger config (e.g. a pino stream that captures lines). */
  logger?: object
  /** Extra service options, e.g. short retry waits for engine tests. */
  services?: Omit<ServicesOptions, 'db' | 'clock' | 'http'>
}

export async function startTestApp(dialect: 'sqlite' | 'postgres', opts: TestAppOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase(dialect)
  const services = await createServices({ databaseUrl: db.url, adminToken: ADMIN_TOKEN, ...opts.config }, { db: { schema: db.schema, poolSize: 4 }, clock: opts.clock, http: opts.http, ...(db.schema ? { workerSchema: `${db.schema}_gw` } : {}), ...(opts.services ?? {}) })
  const app = await buildApp({ services, bodyLimitBytes: opts.bodyLimitBytes, webhookBodyLimitBytes: opts.webhookBodyLimitBytes, logger: opts.logger })
  await app.ready()
  const call: TestApp['call'] = (method, url, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) }
    if (o.key) headers.authorization = `Bearer ${o.key}`
    let payload: string | Buffer | undefined = o.payload
    if (o.body !== undefined) {
      payload = JSON.stringify(o.body)
      headers['content-type'] ??= 'application/json'
    }
    return app.inject({ method: method as 'GET', url, headers, payload })
  }
  return {
    app,
    services,
    db,
    call,
    async newPartner(name = 'Acme', extra = {}) {
      const res = await call('POST', '/v1/partners', { key: ADMIN_TOKEN, body: { name, ...extra } })
      if (res.statusCode !== 201) throw new Error(`partner create failed: ${res.statusCode} ${res.body}`)
      const b = res.json()
      return { id: b.id, apiKey: b.apiKey, keyId: b.keyId }
    },
    async close() {
      await app.close()
      await services.close()
      await db.cleanup()
    },
  }
}

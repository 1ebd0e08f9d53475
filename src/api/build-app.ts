// buildApp returns a fastify app that is not listening: tests use inject(), main.ts listens.
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import { connectorDefinitionJsonSchema } from '../definition/json-schema.js'
import type { Services } from '../services/services.js'
import { errorsPlugin } from './plugins/errors.js'
import { contentTypePlugin } from './plugins/content-type.js'
import { requirePartner } from './plugins/auth.js'
import { connectorRoutes } from './routes/connectors.js'
import { adminPartnerRoutes, selfPartnerRoutes } from './routes/partners.js'
import { releaseRoutes } from './routes/releases.js'
import { templateRoutes } from './routes/templates.js'
import { cycleRoutes, templateInstallRoutes } from './routes/cycles.js'
import { accountRoutes } from './routes/accounts.js'
import { accountConnectorRoutes } from './routes/account-connectors.js'
import { connectorPropertyRoutes } from './routes/connector-properties.js'
import { oauthCallbackRoutes } from './routes/oauth.js'
import { releaseMethodRoutes } from './routes/release-methods.js'
import { hookRoutes } from './routes/hooks.js'
import { webhookDeliveryRoutes } from './routes/webhook-deliveries.js'
import { upgradeRoutes } from './routes/upgrades.js'
import { validatorCompiler } from './validation.js'
import { redactPaths } from '../shared/logging.js'

export interface AppOptions {
  services: Services
  bodyLimitBytes?: number
  /** body limit of webhook deliveries (`/hooks`), default the app's body limit */
  webhookBodyLimitBytes?: number
  logger?: boolean | object
}

export async function buildApp({ services, bodyLimitBytes = 2 * 1024 * 1024, webhookBodyLimitBytes, logger = false }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: bodyLimitBytes,
    logger: logger === true ? { redact: redactPaths } : logger,
    ajv: { customOptions: { removeAdditional: false } },
    // Our ids are opaque; keep routing strict and fast.
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)

  await app.register(errorsPlugin)
  await app.register(contentTypePlugin)
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Plexus API', version: '1', description: 'Custom connectors, releases, accounts, templates and cycles. Authenticate with `Authorization: Bearer <API key>`.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  app.get('/healthz', { schema: { hide: true } }, async () => {
    await services.store.ping()
    return { status: 'ok' }
  })
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const stats = await services.queue.stats()
    for (const [state, n] of Object.entries(stats)) services.metrics.queueDepth.set({ state }, n)
    return reply.type(services.metrics.registry.contentType).send(await services.metrics.registry.metrics())
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  await app.register(adminPartnerRoutes, { prefix: '/v1/partners', partners: services.partners })
  await app.register(selfPartnerRoutes, { prefix: '/v1/partner', partners: services.partners })
  // Reached by users' browsers, not by partners: validated by its signed state, not an API key.
  // Reached by third parties: the unguessable webhook id is the credential, not an API key.
  await app.register(hookRoutes, { prefix: '/hooks', webhooks: services.webhooks, bodyLimitBytes: webhookBodyLimitBytes })
  await app.register(oauthCallbackRoutes, { prefix: '/v1/oauth', accountConnectors: services.accountConnectors })
  await app.register(
    async (v1) => {
      requirePartner(v1, services.partners)
      v1.get('/schemas/connector-definition.json', { schema: { tags: ['schemas'], summary: 'The JSON Schema of connector definitions' } }, async () => connectorDefinitionJsonSchema)
      await v1.register(connectorRoutes, { prefix: '/connectors', connectors: services.connectors })
      await v1.register(releaseRoutes, { prefix: '/connectors/:cid/releases', releases: services.releases })
      await v1.register(releaseMethodRoutes, { prefix: '/connectors/:cid/releases/:rid/methods', releases: services.releases, http: services.http, scripts: services.scripts })
      await v1.register(connectorPropertyRoutes, { prefix: '/connectors/:cid/properties', accountConnectors: services.accountConnectors })
      await v1.register(templateRoutes, { prefix: '/templates', templates: services.templates })
      await v1.register(templateInstallRoutes, { prefix: '/templates', cycles: services.cycles })
      await v1.register(cycleRoutes, { prefix: '/accounts/:aid/cycles', cycles: services.cycles, store: services.store })
      await v1.register(accountRoutes, { prefix: '/accounts', accounts: services.accounts })
      await v1.register(webhookDeliveryRoutes, { webhooks: services.webhooks, store: services.store })
      await v1.register(upgradeRoutes, { upgrades: services.upgrades })
      await v1.register(accountConnectorRoutes, { prefix: '/accounts/:aid/connectors', accountConnectors: services.accountConnectors })
    },
    { prefix: '/v1' },
  )
  return app
}

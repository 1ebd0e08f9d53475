// Two local third-party APIs to try accounts with (README "Accounts"):
//   node --import tsx scripts/demo-apis.ts
// A SaaS API on http://127.0.0.1:4010 that takes the API key `demo-key-0123456789abcdef`, and an
// OAuth2 provider (authorization code + PKCE) on http://127.0.0.1:4020 with the client
// `demo-client` / `demo-secret`. They are the servers the tests use (test/helpers/account-apis.ts).
import { pathToFileURL } from 'node:url'
import { oauthProvider, saasApi } from '../test/helpers/account-apis.js'

export const DEMO = {
  apiKey: 'demo-key-0123456789abcdef',
  client: { id: 'demo-client', secret: 'demo-secret' },
  saasPort: 4010,
  oauthPort: 4020,
} as const

/** Starts both demo APIs (port 0: any free port). */
export async function startDemoApis(ports: { saas?: number; oauth?: number } = {}) {
  const saas = await saasApi((req) => req.headers['x-api-key'] === DEMO.apiKey, ports.saas ?? DEMO.saasPort)
  const oauth = await oauthProvider({ clients: [{ ...DEMO.client }], requirePkce: true, port: ports.oauth ?? DEMO.oauthPort })
  return { saas, oauth, close: async () => void (await Promise.all([saas.close(), oauth.close()])) }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { saas, oauth } = await startDemoApis()
  process.stdout.write(
    [
      `SaaS API        ${saas.url}   (header X-Api-Key: ${DEMO.apiKey})`,
      `OAuth2 provider ${oauth.url}   (client ${DEMO.client.id} / ${DEMO.client.secret}; consents automatically)`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  )
}

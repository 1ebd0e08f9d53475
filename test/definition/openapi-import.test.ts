// OpenAPI / Swagger import: hand-written fixtures for each version and feature, external $ref
// refusal, malformed input, and GitHub's published description.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Compile } from 'typebox/compile'
import { ConnectorDefinition, type Method } from '../../src/definition/schema.js'
import { importOpenApi, REF_PARSER_OPTIONS, type OpenApiImportResult } from '../../src/definition/openapi-import.js'
import { PlexusError } from '../../src/errors/errors.js'
import { startServer } from '../helpers/http-server.js'

const validator = Compile(ConnectorDefinition)
const fixture = (name: string) => readFileSync(new URL(`../fixtures/openapi/${name}`, import.meta.url), 'utf8')

function assertValid(result: OpenApiImportResult): void {
  const ok = validator.Check(result.definition)
  assert.ok(ok, JSON.stringify([...validator.Errors(result.definition)].slice(0, 5)))
}
const method = (r: OpenApiImportResult, id: string): Method => {
  const m = r.definition.methods?.find((x) => x.id === id)
  assert.ok(m, `method ${id} exists; got ${r.definition.methods?.map((x) => x.id).join(', ')}`)
  return m
}
const skippedAt = (r: OpenApiImportResult, path: string) => r.report.skipped.filter((s) => s.path === path)

test('OpenAPI 3.0 YAML: methods, parameters, bodies, fields and servers', async () => {
  const r = await importOpenApi(fixture('petstore-3.0.yaml'))
  assertValid(r)
  const d = r.definition
  assert.equal(d.baseUrl, 'https://{{Tenant}}.petstore.example.com/{{BasePath}}')
  assert.deepEqual(d.parameters, [
    { name: 'Tenant', displayName: 'Tenant', target: 'mergeField', scope: 'account', targetName: 'tenant', description: 'Your tenant.', default: 'demo' },
    { name: 'BasePath', displayName: 'Base Path', target: 'mergeField', scope: 'account', targetName: 'basePath', description: 'One of: v1, v2.', default: 'v1' },
  ])
  assert.equal(r.report.mapped, 12)
  assert.equal(d.methods?.length, 12)

  const list = method(r, 'listPets')
  assert.equal(list.name, 'List pets')
  assert.equal(list.category, 'Pets')
  assert.deepEqual(list.http, { method: 'GET', path: '/pets' })
  assert.equal(list.records, 'data')
  assert.deepEqual(list.parameters, [
    { name: 'X_Request_Id', displayName: 'X Request Id', target: 'header', targetName: 'X-Request-Id', optional: true },
    { name: 'limit', displayName: 'Limit', default: '20', target: 'query', optional: true },
    { name: 'filter_status', displayName: 'Filter Status', description: 'Allowed values: available, sold.', target: 'query', targetName: 'filter[status]' },
  ])
  const listFields = new Map(list.response?.fields?.map((f) => [f.location, f]))
  assert.deepEqual(listFields.get('created_at'), { location: 'created_at', field: 'CreatedAt', displayName: 'Created At', type: 'datetime', format: 'iso8601' })
  assert.equal(listFields.get('id')?.readOnly, true)
  assert.ok(listFields.has('owner.address.city'))

  // Request body: types mapped, required → not optional, readOnly left out, nested objects flattened.
  const create = method(r, 'createPet')
  assert.equal(create.request?.format, 'json')
  const req = new Map(create.request?.fields?.map((f) => [f.location, f]))
  assert.deepEqual(req.get('name'), { location: 'name', field: 'Name', displayName: 'Name', type: 'text', description: "The pet's name." })
  assert.equal(req.get('born')?.type, 'datetime')
  assert.equal(req.get('born')?.format, 'iso8601')
  assert.equal(req.get('born')?.optional, undefined)
  assert.equal(req.get('birthday')?.format, 'yyyy-MM-dd')
  assert.equal(req.get('weight')?.type, 'float')
  assert.equal(req.get('price')?.type, 'decimal')
  assert.equal(req.get('age')?.type, 'integer')
  assert.deepEqual(req.get('vaccinated'), { location: 'vaccinated', field: 'Vaccinated', displayName: 'Vaccinated', type: 'boolean', optional: true, default: false })
  assert.equal(req.get('tags[]')?.type, 'text')
  assert.equal(req.get('owner.email')?.optional, true, 'required inside an optional object is still optional')
  assert.equal(req.get('owner.email')?.field, 'OwnerEmail')
  assert.equal(req.has('id'), false, 'readOnly properties are not request fields')
  assert.equal(req.has('owner.address.geo.lat'), false, 'depth limit')
  assert.deepEqual(create.response?.fields?.map((f) => f.location).slice(0, 3), ['name', 'born', 'birthday'])
  assert.equal(create.records, undefined)

  // Path templates → merge fields; ids slugified and deduplicated; fallbacks.
  const show = method(r, 'show-pet-by-id')
  assert.equal(show.name, 'Show Pet By Id')
  assert.deepEqual(show.http, { method: 'GET', path: '/pets/{{PetId}}' })
  assert.deepEqual(show.parameters, [{ name: 'PetId', displayName: 'Pet Id', target: 'mergeField', targetName: 'petId' }])
  const patch = method(r, 'listPets-2')
  assert.equal(patch.http?.method, 'PATCH')
  assert.ok(r.report.warnings.some((w) => w.includes('Duplicate operationId "listPets"')))
  const patchReq = new Map(patch.request?.fields?.map((f) => [f.location, f]))
  assert.equal(patchReq.get('status')?.optional, true, 'allOf members merged')
  assert.equal(patchReq.get('name')?.optional, undefined)
  const del = method(r, 'delete-pets-petId')
  assert.equal(del.name, 'Delete Pet')
  assert.equal(del.description, 'Deprecated.')
  const owners = method(r, 'get-owners-ownerId-pets-petId')
  assert.equal(owners.http?.path, '/owners/{{OwnerId}}/pets/{{PetId}}')
  assert.ok(r.report.warnings.some((w) => w.includes('path variable "petId" has no parameter declaration')))

  // Body formats.
  const photo = method(r, 'uploadPhoto')
  assert.equal(photo.request?.format, 'multipart')
  assert.deepEqual(photo.request?.fields?.[0], { location: 'file', field: 'File', displayName: 'File', type: 'file' })
  assert.equal(method(r, 'addNote').request?.format, 'form')
  const xml = method(r, 'replacePetXml')
  assert.deepEqual(xml.request?.format, 'xml')
  assert.equal(xml.request?.xmlRoot, 'pet')
  assert.deepEqual(xml.response, { format: 'xml' })
  assert.equal(method(r, 'uploadRaw').request, undefined)
  assert.equal(method(r, 'postText').request?.format, 'text')

  // Circular schema: no crash, recursion reported.
  const tree = method(r, 'getTree')
  assert.deepEqual(tree.response?.fields?.map((f) => f.location), ['name'])
  assert.match(skippedAt(r, '#/paths/~1tree/get/responses/200/content/application~1json/schema/properties/parent')[0].reason, /circular/)

  // Skipped with reasons.
  const reasons = (path: string) => skippedAt(r, path).map((s) => s.reason).join(' | ')
  assert.match(reasons('#/paths/~1pets/get/parameters/2'), /cookie parameter "session"/)
  assert.match(reasons('#/paths/~1pets/get/parameters/3'), /"Accept" is ignored/)
  assert.match(reasons('#/paths/~1pets/post/callbacks/onAdopted'), /callbacks/)
  assert.match(reasons('#/paths/~1pets/options'), /OPTIONS is not supported/)
  assert.match(reasons('#/paths/~1raw/post/requestBody'), /binary request body/)
  assert.match(reasons('#/paths/~1notes/post/requestBody/content/text~1plain/schema'), /has no schema/)
  assert.match(reasons('#/paths/~1pets/post/requestBody/content/application~1json/schema/properties/kind'), /oneOf combines incompatible schemas .*too complex/)
  assert.match(reasons('#/paths/~1pets/post/requestBody/content/application~1json/schema/properties/toys'), /array of objects/)
  assert.match(reasons('#/paths/~1pets/post/requestBody/content/application~1json/schema/properties/extra'), /free-form object/)
  assert.match(reasons('#/paths/~1pets/post/requestBody/content/application~1json/schema/properties/owner/properties/address/properties/geo'), /nested deeper than 3 levels/)

  // Security: the scheme in the top-level requirement is the default, with the scopes it names.
  assert.deepEqual(d.authentications, [
    { id: 'api_key', name: 'Api Key', type: 'apiKey', in: 'header', header: 'X-Api-Key' },
    {
      id: 'petstore_auth',
      name: 'Petstore Auth',
      type: 'oauth2',
      grant: 'authorizationCode',
      tokenUrl: 'https://auth.petstore.example.com/token',
      authorizeUrl: 'https://auth.petstore.example.com/authorize',
      scopes: ['pets:read'],
      default: true,
    },
  ])
  assert.match(r.settings.comments ?? '', /OpenAPI 3\.0\.3 description "Pet Store" 1\.2\.0: 12 methods/)
})

test('OpenAPI 3.1 JSON: type arrays, anyOf with null, $ref siblings, bearer, webhooks', async () => {
  const r = await importOpenApi(fixture('store-3.1.json'))
  assertValid(r)
  assert.equal(r.definition.baseUrl, 'https://api.store.example.com/v2')
  assert.equal(r.definition.parameters, undefined)
  const list = method(r, 'orders.list')
  assert.equal(list.records, '', 'top-level array')
  assert.deepEqual(list.response?.fields?.map((f) => [f.location, f.type]), [
    ['id', 'text'],
    ['status', 'text'],
    ['total', 'float'],
    ['created', 'datetime'],
  ])
  assert.deepEqual(list.parameters, [
    { name: 'page', displayName: 'Page', target: 'query', optional: true },
    { name: 'X_Api_Version', displayName: 'X Api Version', default: '2024-05-01', target: 'header', targetName: 'X-Api-Version' },
  ])
  const create = method(r, 'orders.create')
  assert.equal(create.request?.format, 'json', 'application/vnd.store+json is JSON')
  const fields = new Map(create.request?.fields?.map((f) => [f.location, f]))
  assert.deepEqual(fields.get('customer_id'), { location: 'customer_id', field: 'CustomerId', displayName: 'Customer Id', type: 'text' })
  assert.deepEqual(fields.get('note'), { location: 'note', field: 'Note', displayName: 'Note', type: 'text', description: 'Free text.', optional: true })
  assert.equal(fields.get('total')?.type, 'decimal')
  assert.equal(fields.get('paid_at')?.type, 'datetime')
  assert.equal(fields.get('status')?.description, 'Initial status. Allowed values: new, paid.')
  assert.equal(method(r, 'customers.list').records, 'customers', 'the only array of objects beside a count')

  assert.deepEqual(r.definition.authentications, [
    { id: 'bearer', name: 'Bearer', type: 'apiKey', in: 'header', header: 'Authorization', value: 'Bearer {{ApiKey}}', description: 'Bearer token (JWT)', default: true },
  ])
  const reasons = r.report.skipped.map((s) => `${s.path} ${s.reason}`)
  assert.ok(reasons.some((s) => s.startsWith('#/webhooks/orderCreated/post webhook-only')))
  assert.ok(reasons.some((s) => s.startsWith('#/components/securitySchemes/oidc OpenID Connect is not supported')))
  assert.ok(reasons.some((s) => s.startsWith('#/components/securitySchemes/mtls mutual TLS')))
  assert.equal(r.settings.postInstallTestAuthMethod, 'me.get')
})

test('OpenAPI 3.1 with only webhooks imports with no methods', async () => {
  const r = await importOpenApi(JSON.stringify({ openapi: '3.1.0', info: { title: 'Hooks', version: '1' }, webhooks: { ping: { post: { responses: { '200': { description: 'ok' } } } } } }))
  assertValid(r)
  assert.deepEqual(r.definition.methods, [])
  assert.equal(r.report.mapped, 0)
  assert.deepEqual(r.report.skipped.map((s) => s.path), ['#/webhooks/ping/post'])
  assert.deepEqual(r.definition.authentications, [{ id: 'none', name: 'None', type: 'none', default: true }])
})

test('Swagger 2.0: host/basePath, body and formData parameters, produces, security definitions', async () => {
  const r = await importOpenApi(fixture('petstore-swagger-2.0.json'))
  assertValid(r)
  assert.equal(r.definition.baseUrl, 'https://petstore.swagger.io/v2', 'https preferred')
  const add = method(r, 'addPet')
  assert.equal(add.request?.format, 'json')
  assert.deepEqual(add.request?.fields?.map((f) => [f.location, f.type, f.optional ?? false]), [
    ['id', 'integer', true],
    ['name', 'text', false],
    ['photoUrls[]', 'text', false],
    ['status', 'text', true],
    ['category.id', 'integer', true],
    ['category.name', 'text', true],
  ])
  assert.equal(method(r, 'findPetsByStatus').records, '')
  assert.deepEqual(method(r, 'findPetsByStatus').parameters?.[0], {
    name: 'status',
    displayName: 'Status',
    description: 'Allowed values: available, pending, sold.',
    target: 'query',
  })
  const get = method(r, 'getPetById')
  assert.deepEqual(get.http, { method: 'GET', path: '/pet/{{PetId}}' })
  assert.deepEqual(get.response, { format: 'xml' })
  const form = method(r, 'updatePetWithForm')
  assert.equal(form.request?.format, 'form')
  assert.deepEqual(form.request?.fields?.map((f) => [f.location, f.optional ?? false]), [
    ['name', false],
    ['status', true],
  ])
  const upload = method(r, 'uploadFile')
  assert.equal(upload.request?.format, 'multipart')
  assert.deepEqual(upload.request?.fields?.find((f) => f.location === 'file'), { location: 'file', field: 'File', displayName: 'File', type: 'file' })

  const auths = r.definition.authentications ?? []
  assert.deepEqual(auths.map((a) => [a.id, a.type, a.default ?? false]), [
    ['api_key', 'apiKey', true],
    ['query_key', 'apiKey', false],
    ['basic', 'basic', false],
    ['petstore_auth', 'oauth2', false],
    ['app_auth', 'oauth2', false],
  ])
  const oauth = auths.find((a) => a.id === 'petstore_auth')
  assert.ok(oauth?.type === 'oauth2')
  assert.equal(oauth.grant, 'authorizationCode')
  assert.deepEqual(oauth.scopes, ['write:pets', 'read:pets'], 'scopes named by requirements, not every declared scope')
  const app = auths.find((a) => a.id === 'app_auth')
  assert.ok(app?.type === 'oauth2' && app.grant === 'clientCredentials')
  assert.deepEqual(r.report.skipped, [{ path: '#/securityDefinitions/implicit_auth', reason: 'the oauth2 implicit flow is not supported (use authorization code)' }])
})

test('security schemes of every type', async () => {
  const r = await importOpenApi(fixture('security-schemes.yaml'))
  assertValid(r)
  const auths = r.definition.authentications ?? []
  const byId = new Map(auths.map((a) => [a.id, a]))
  assert.deepEqual(byId.get('headerKey'), { id: 'headerKey', name: 'Header Key', description: 'Key from the settings page.', type: 'apiKey', in: 'header', header: 'X-Api-Key' })
  assert.deepEqual(byId.get('queryKey'), { id: 'queryKey', name: 'Query Key', type: 'apiKey', in: 'query', query: 'api_key' })
  assert.deepEqual(byId.get('basicAuth'), { id: 'basicAuth', name: 'Basic Auth', type: 'basic', default: true }, 'named by the top-level requirement')
  assert.deepEqual(byId.get('bearerAuth'), { id: 'bearerAuth', name: 'Bearer Auth', type: 'apiKey', in: 'header', header: 'Authorization', value: 'Bearer {{ApiKey}}' })
  assert.deepEqual(byId.get('oauth-authorizationCode'), {
    id: 'oauth-authorizationCode',
    name: 'Oauth (authorization code)',
    type: 'oauth2',
    grant: 'authorizationCode',
    tokenUrl: 'https://zoo.example.com/oauth/token',
    authorizeUrl: 'https://zoo.example.com/oauth/authorize',
    refreshUrl: 'https://zoo.example.com/oauth/refresh',
    scopes: ['read', 'write'],
  })
  assert.equal(byId.get('oauth-clientCredentials')?.type, 'oauth2')
  const password = byId.get('oauth-password')
  assert.ok(password?.type === 'oauth2' && password.grant === 'password' && password.scopes === undefined)
  // Two apiKey headers required together → one authFields authentication.
  assert.deepEqual(byId.get('headerKey-and-appId'), {
    id: 'headerKey-and-appId',
    name: 'Header Key + App Id',
    type: 'authFields',
    fields: [
      { key: 'HeaderKey', label: 'Header Key', target: 'header', targetName: 'X-Api-Key', sensitive: true },
      { key: 'AppId', label: 'App Id', target: 'header', targetName: 'X-App-Id', sensitive: true },
    ],
  })
  assert.equal(auths.filter((a) => a.default).length, 1)
  assert.deepEqual(r.report.skipped.map((s) => s.path), [
    '#/components/securitySchemes/cookieKey',
    '#/components/securitySchemes/digestAuth',
    '#/components/securitySchemes/oauth/flows/implicit',
    '#/components/securitySchemes/oidc',
  ])
  assert.match(r.report.skipped[0].reason, /cookie/)
  assert.match(r.report.skipped[3].reason, /never fetched/)
  assert.ok(r.report.warnings.some((w) => w.includes('"headerKey" and "oauth" cannot be expressed')))
})

test('optional security ({} in the top-level requirements) adds a "none" authentication', async () => {
  const r = await importOpenApi(
    'openapi: 3.0.0\ninfo: {title: t, version: "1"}\nsecurity: [{}, {k: []}]\npaths: {}\ncomponents: {securitySchemes: {k: {type: apiKey, in: header, name: K}}}\n',
  )
  assertValid(r)
  assert.deepEqual(r.definition.authentications, [
    { id: 'k', name: 'K', type: 'apiKey', in: 'header', header: 'K' },
    { id: 'none', name: 'None', type: 'none', default: true },
  ])
})

test('hostile names and deep nesting are handled', async () => {
  const doc = {
    swagger: '2.0',
    info: { title: 't', version: '1' },
    host: 'h.example.com',
    paths: {
      '/x': {
        post: {
          consumes: ['application/x-www-form-urlencoded'],
          parameters: [
            { name: '__proto__', in: 'formData', type: 'string' },
            { name: 'constructor', in: 'query', type: 'string' },
            { name: '1st-päge', in: 'query', type: 'integer' },
          ],
          responses: { '200': { description: 'ok' } },
        },
      },
    },
  }
  const r = await importOpenApi(JSON.stringify(doc))
  assertValid(r)
  const m = method(r, 'post-x')
  assert.deepEqual(m.request?.fields?.map((f) => [f.location, f.field]), [['__proto__', 'Proto']])
  assert.deepEqual(m.parameters?.map((p) => [p.name, p.targetName]), [
    ['constructor', undefined],
    ['_1st_page', '1st-päge'],
  ])
  const deep = '{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{},"x-deep":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}'
  await assert.rejects(importOpenApi(deep), /nested too deeply|not valid JSON/)
})

test('no security schemes → a single "none" authentication', async () => {
  const r = await importOpenApi('openapi: 3.0.0\ninfo: {title: t, version: "1"}\npaths: {}\n')
  assertValid(r)
  assert.deepEqual(r.definition.authentications, [{ id: 'none', name: 'None', type: 'none', default: true }])
  assert.equal(r.definition.baseUrl, undefined)
  assert.ok(r.report.warnings.some((w) => w.includes('no servers')))
})

test('list responses: the record array is guessed', async () => {
  const r = await importOpenApi(fixture('list-responses.yaml'))
  assertValid(r)
  const records = Object.fromEntries((r.definition.methods ?? []).map((m) => [m.id, m.records]))
  assert.deepEqual(records, { topLevel: '', wellKnown: 'results', envelope: 'widgets', wrapped: 'data.items', entity: undefined, twoArrays: undefined })
  for (const id of ['topLevel', 'wellKnown', 'envelope', 'wrapped'])
    assert.deepEqual(method(r, id).response?.fields?.map((f) => f.location), ['id', 'label', 'meta.color'], `${id}: fields relative to the record`)
  assert.deepEqual(method(r, 'entity').response?.fields?.map((f) => f.location), ['id'])
})

test('external $refs are never followed, and reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-openapi-'))
  const secretFile = join(dir, 'secret.json')
  writeFileSync(secretFile, JSON.stringify({ type: 'object', properties: { TOP_SECRET_FROM_DISK: { type: 'string' } } }))
  const server = await startServer((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ Body: { type: 'object', properties: { TOP_SECRET_FROM_HTTP: { type: 'string' } } } }))
  })
  try {
    const text = fixture('external-refs.yaml').replaceAll('__HTTP__', server.url).replace("'file:///etc/passwd'", `'file://${secretFile}'`)
    const r = await importOpenApi(text)
    assertValid(r)
    assert.equal(server.requests.length, 0, 'no HTTP request was made')
    const out = JSON.stringify(r.definition)
    assert.doesNotMatch(out, /root:|TOP_SECRET/)
    assert.equal(r.report.mapped, 4)
    const at = (p: string) => skippedAt(r, p).map((s) => s.reason).join(' | ')
    assert.match(at('#/paths/~1passwd/get/responses/200/content/application~1json/schema'), /external \$ref "\/etc\/passwd" not followed/)
    assert.match(at('#/paths/~1relative/get/parameters/0'), /external \$ref "\.\.\/.*etc\/passwd#\/x" not followed/)
    assert.match(at('#/paths/~1relative/get/responses/200/content/application~1json/schema/properties/secret'), /external \$ref "file:\/\/.*secret\.json" not followed/)
    assert.match(at('#/paths/~1remote/post/requestBody'), /external \$ref "http:\/\/127\.0\.0\.1:\d+\/body\.json#\/Body" not followed/)
    assert.match(at('#/paths/~1remote-item'), /not followed/)
    assert.match(at('#/paths/~1missing/get/responses/200/content/application~1json/schema'), /"#\/components\/schemas\/DoesNotExist" does not resolve/)
    assert.deepEqual(method(r, 'relative').response?.fields?.map((f) => f.location), ['ok'])
    assert.equal(r.report.warnings.filter((w) => w.startsWith('External $ref')).length, 6)
  } finally {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the resolver options alone do not follow external $refs either', async () => {
  let hits = 0
  const server = await startServer((_req, res) => {
    hits++
    res.end('{}')
  })
  try {
    const api = {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: {},
      components: { schemas: { A: { $ref: '/etc/passwd' }, B: { $ref: `${server.url}/x.json` }, C: { $ref: '#/components/schemas/D' }, D: { type: 'string' } } },
    }
    const out = (await new SwaggerParser().dereference(api as never, REF_PARSER_OPTIONS as never)) as unknown as typeof api
    assert.equal(hits, 0)
    assert.deepEqual(out.components.schemas.A, { $ref: '/etc/passwd' })
    assert.deepEqual(out.components.schemas.B, { $ref: `${server.url}/x.json` })
    assert.deepEqual(out.components.schemas.C, { type: 'string' })
  } finally {
    await server.close()
  }
})

test('malformed input fails with a clear BAD_REQUEST error', async () => {
  const cases: Array<[string, RegExp]> = [
    ['', /the document is empty/],
    ['{ "openapi": "3.0.0", ', /not valid JSON/],
    ['openapi: 3.0.0\npaths: [unclosed', /not valid JSON or YAML/],
    ['- a\n- b\n', /expected an object at the top level, got an array/],
    ['just a string', /expected an object at the top level, got string/],
    ['{"info": {"title": "x"}, "paths": {}}', /no "openapi" or "swagger" version field/],
    ['openapi: 4.0.0\npaths: {}\n', /unsupported OpenAPI version "4\.0\.0"/],
    ['swagger: "1.2"\npaths: {}\n', /unsupported Swagger version "1\.2"/],
    ['openapi: 3.0.3\ninfo: {title: t, version: "1"}\n', /has no "paths"/],
    ['openapi: 3.0.3\npaths: [1, 2]\n', /"paths" must be an object/],
    // A YAML alias bomb is refused by the YAML parser, not expanded.
    ['a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n', /not valid JSON or YAML|Excessive alias/],
  ]
  for (const [text, message] of cases) {
    await assert.rejects(importOpenApi(text), (e: unknown) => {
      assert.ok(e instanceof PlexusError, `${JSON.stringify(text)} → PlexusError`)
      assert.equal(e.code, 'BAD_REQUEST')
      assert.equal(e.statusCode, 400)
      assert.match(e.message, /^Invalid OpenAPI document: /)
      assert.match(e.message, message, JSON.stringify(text))
      return true
    })
  }
  await assert.rejects(importOpenApi(42 as unknown as string), /expected the document text as a string/)
  await assert.rejects(importOpenApi('openapi: 3.0.0\npaths: {}\n', { maxDocumentLength: 10 }), /larger than 10 characters/)
})

test('lenient about common mistakes: numeric versions and unknown patch versions', async () => {
  const r = await importOpenApi('swagger: 2.0\ninfo: {title: t, version: 1.0}\nhost: api.example.com\npaths:\n  /x:\n    get:\n      responses: {"200": {description: ok}}\n')
  assertValid(r)
  assert.equal(r.definition.baseUrl, 'https://api.example.com')
  assert.deepEqual(r.definition.methods?.map((m) => [m.id, m.name]), [['get-x', 'List X']])
  assert.ok(r.report.warnings.some((w) => w.includes('should be the string "2.0"')))
  const r31 = await importOpenApi('{"openapi": "3.1.9", "info": {"title": "t", "version": "1"}, "paths": {}}')
  assert.ok(r31.report.warnings.some((w) => w.includes('read as 3.1')))
})

test("GitHub's published description (@octokit/openapi)", async () => {
  const require = createRequire(import.meta.url)
  const dir = join(require.resolve('@octokit/openapi/package.json'), '..', 'generated')
  // The .deref.json variant is ~73 MB (≈5 s to import); the $ref'd one is ~13 MB and exercises $ref resolution.
  const started = performance.now()
  const text = readFileSync(join(dir, 'api.github.com.json'), 'utf8')
  const r = await importOpenApi(text)
  const ms = performance.now() - started
  assertValid(r)
  assert.ok(ms < 20_000, `took ${Math.round(ms)} ms`)
  assert.ok(r.report.mapped > 800, `mapped ${r.report.mapped}`)
  assert.equal(r.report.mapped, r.definition.methods?.length)
  assert.equal(r.definition.baseUrl, 'https://api.github.com')
  const ids = new Set(r.definition.methods?.map((m) => m.id))
  assert.equal(ids.size, r.definition.methods?.length, 'ids are unique')

  const m = method(r, 'repos-list-for-org')
  assert.equal(m.name, 'List organization repositories')
  assert.equal(m.category, 'repos')
  assert.deepEqual(m.http, { method: 'GET', path: '/orgs/{{Org}}/repos' })
  assert.equal(m.records, '')
  const params = new Map(m.parameters?.map((p) => [p.name, p]))
  assert.deepEqual(params.get('Org'), {
    name: 'Org',
    displayName: 'Org',
    description: 'The organization name. The name is not case sensitive.',
    target: 'mergeField',
    targetName: 'org',
  })
  assert.equal(params.get('per_page')?.target, 'query')
  assert.equal(params.get('per_page')?.optional, true)
  assert.equal(params.get('per_page')?.default, '30')
  assert.match(params.get('type')?.description ?? '', /Allowed values: all, public, private, forks, sources, member/)
  const fields = new Map(m.response?.fields?.map((f) => [f.location, f]))
  assert.equal(fields.get('id')?.type, 'integer')
  assert.equal(fields.get('full_name')?.type, 'text')
  assert.equal(fields.get('owner.login')?.field, 'OwnerLogin')
  assert.equal(fields.get('private')?.type, 'boolean')

  const create = method(r, 'repos-create-in-org')
  assert.deepEqual(create.http, { method: 'POST', path: '/orgs/{{Org}}/repos' })
  const name = create.request?.fields?.find((f) => f.location === 'name')
  assert.deepEqual([name?.type, name?.optional], ['text', undefined])
  assert.equal(method(r, 'actions-list-workflow-runs-for-repo').records, 'workflow_runs')
  assert.equal(method(r, 'search-repos').records, 'items')
  // An operation with its own server becomes an absolute URL.
  assert.match(method(r, 'repos-upload-release-asset').http?.path ?? '', /^https:\/\/uploads\.github\.com\/repos\/\{\{Owner\}\}\/\{\{Repo\}\}\/releases\//)
  assert.equal(r.settings.postInstallTestAuthMethod, 'users-get-authenticated')
  assert.deepEqual(r.definition.authentications, [{ id: 'none', name: 'None', type: 'none', default: true }])
  for (const s of r.report.skipped) assert.match(s.path, /^#\//)
  console.log(`GitHub: ${r.report.mapped} methods, ${r.report.skipped.length} skipped, ${r.report.warnings.length} warnings in ${Math.round(ms)} ms`)
})

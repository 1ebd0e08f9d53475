// Releases for account connector tests, against the local APIs of account-apis.ts. `ApiBase` (an
// account property) is the local server's URL.

/** A SaaS API with three authentications, a session token and tenant from the property lookup, and a project lookup. */
export const saasRelease = (settings: Record<string, unknown> = {}) => ({
  settings: {
    status: 'Approved',
    inboundPaging: true,
    inboundPageSize: 2,
    postInstallTestAuthMethod: 'get-me',
    postInstallPropertyLookupMethod: 'get-account',
    postInstallPropertyMappings: [{ property: 'SessionToken', location: 'session.token' }],
    ...settings,
  },
  definition: {
    baseUrl: '{{ApiBase}}',
    authentications: [
      { id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true },
      { id: 'basic', name: 'User and password', type: 'basic' },
      {
        id: 'fields',
        name: 'Account SID and token',
        type: 'authFields',
        fields: [
          { key: 'AccountSid', label: 'Account SID', target: 'header', targetName: 'X-Account-Sid', sensitive: false },
          { key: 'AuthToken', label: 'Auth token', target: 'header', targetName: 'X-Auth-Token' },
        ],
      },
    ],
    parameters: [
      { name: 'ApiBase', target: 'mergeField', scope: 'account', displayName: 'API base URL' },
      { name: 'TenantId', target: 'header', targetName: 'X-Tenant', scope: 'account', optional: true, hidden: true },
      { name: 'SessionToken', target: 'header', targetName: 'X-Session', scope: 'account', optional: true, hidden: true, sensitive: true },
      { name: 'ProjectId', target: 'query', targetName: 'project', scope: 'account', optional: true, lookup: 'projects' },
    ],
    lookups: [
      { name: 'projects', method: 'list-projects', valuePath: 'id', labelPath: 'name' },
      { name: 'projects-by-name', method: 'list-projects', valuePath: 'id', labelPath: 'name', searchParameter: 'q' },
    ],
    methods: [
      { id: 'get-me', name: 'Get Me', type: 'action', http: { method: 'GET', path: '/me' }, response: { fields: [{ location: 'id', field: 'UserId' }] } },
      {
        id: 'get-account',
        name: 'Get Account',
        type: 'action',
        http: { method: 'GET', path: '/account' },
        response: { fields: [{ location: 'tenant.id', field: 'TenantId' }, { location: 'tenant.region', field: 'Region' }] },
      },
      {
        id: 'list-contacts',
        name: 'List Contacts',
        type: 'action',
        http: { method: 'GET', path: '/contacts' },
        parameters: [
          { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}', hidden: true },
          { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}', hidden: true },
        ],
        records: 'data',
        response: { fields: [{ location: 'id', field: 'ContactId' }, { location: 'email', field: 'Email' }] },
      },
      {
        id: 'create-contact',
        name: 'Create Contact',
        description: 'Adds a contact.',
        category: 'Contacts',
        type: 'action',
        http: { method: 'POST', path: '/contacts' },
        request: { format: 'json', fields: [{ location: 'email', field: 'Email', type: 'text' }] },
        response: { fields: [{ location: 'id', field: 'ContactId', type: 'text' }] },
      },
      {
        id: 'list-projects',
        name: 'List Projects',
        type: 'action',
        http: { method: 'GET', path: '/projects' },
        parameters: [{ name: 'q', target: 'query', optional: true }],
        records: 'projects',
      },
    ],
  },
})

/** An OAuth2 authorization-code API (PKCE) whose test-auth and property lookup is GET /api/me. */
export const oauthRelease = (auth: Record<string, unknown> = {}) => ({
  settings: {
    status: 'Approved',
    inboundPaging: true,
    inboundPageSize: 2,
    postInstallTestAuthMethod: 'get-me',
    postInstallPropertyLookupMethod: 'get-me',
  },
  definition: {
    baseUrl: '{{ApiBase}}/api',
    authentications: [
      {
        id: 'oauth',
        name: 'Sign in with Provider',
        type: 'oauth2',
        grant: 'authorizationCode',
        authorizeUrl: '{{ApiBase}}/authorize',
        tokenUrl: '{{ApiBase}}/token',
        scopes: ['read', 'write'],
        pkce: true,
        default: true,
        ...auth,
      },
    ],
    parameters: [
      { name: 'ApiBase', target: 'mergeField', scope: 'account' },
      { name: 'TenantId', target: 'header', targetName: 'X-Tenant', scope: 'account', optional: true, hidden: true },
    ],
    methods: [
      { id: 'get-me', name: 'Get Me', type: 'action', http: { method: 'GET', path: '/me' }, response: { fields: [{ location: 'id', field: 'UserId' }, { location: 'tenant', field: 'TenantId' }] } },
      {
        id: 'list-contacts',
        name: 'List Contacts',
        type: 'action',
        http: { method: 'GET', path: '/contacts' },
        parameters: [
          { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}', hidden: true },
          { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}', hidden: true },
        ],
        records: 'data',
      },
    ],
  },
})

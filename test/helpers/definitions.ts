// Release documents for API tests: a small CRM-like API.
export const crmSettings = () => ({
  status: 'Approved',
  comments: 'Contacts',
  inboundPaging: true,
  inboundPageSize: 50,
  postInstallTestAuthMethod: 'get-me',
})

export const crmDefinition = () => ({
  baseUrl: 'https://{{Subdomain}}.crm.example.com/api',
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  parameters: [{ name: 'Subdomain', target: 'mergeField', scope: 'account' }],
  methods: [
    {
      id: 'get-me',
      name: 'Get Me',
      description: 'The user of the API key.',
      category: 'Users',
      type: 'action',
      http: { method: 'GET', path: '/me' },
      response: { fields: [{ location: 'id', field: 'UserId', type: 'text' }] },
    },
    {
      id: 'list-contacts',
      name: 'List Contacts',
      description: 'Every contact.',
      category: 'Contacts',
      type: 'action',
      http: { method: 'GET', path: '/contacts' },
      parameters: [
        { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}', hidden: true },
        { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}', hidden: true },
      ],
      records: 'data',
      response: {
        fields: [
          { location: 'id', field: 'ContactId', type: 'text' },
          { location: 'email', field: 'Email', type: 'text' },
        ],
      },
    },
  ],
})

export const createContactMethod = () => ({
  id: 'create-contact',
  name: 'Create Contact',
  description: 'Adds a contact.',
  category: 'Contacts',
  type: 'action',
  http: { method: 'POST', path: '/contacts' },
  request: { format: 'json', fields: [{ location: 'email', field: 'Email', type: 'text' }] },
  response: { fields: [{ location: 'id', field: 'ContactId', type: 'text' }] },
})

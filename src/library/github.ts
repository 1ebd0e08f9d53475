// A built-in library connector: visible to every partner, read-only.
import type { LibraryConnector } from './library.js'

export const github: LibraryConnector = {
  connector: {
    id: 'con_lib_github',
    name: 'GitHub',
    description: 'Where the world builds software: repositories, issues and pull requests.',
    apiVersion: '2022-11-28',
  },
  release: {
    id: 'rel_lib_github_1_0',
    version: { major: 1, minor: 0 },
    settings: { status: 'Approved', comments: 'Repositories and issues', inboundPaging: true, inboundPageSize: 100, postInstallTestAuthMethod: 'get-authenticated-user' },
    definition: {
      definitionVersion: 1,
      baseUrl: 'https://api.github.com',
      authentications: [
        { id: 'token', name: 'Personal access token', type: 'apiKey', in: 'header', header: 'Authorization', value: 'Bearer {{ApiKey}}', default: true },
      ],
      parameters: [{ name: 'ApiVersion', target: 'header', targetName: 'X-GitHub-Api-Version', scope: 'fixed', value: '2022-11-28', hidden: true }],
      methods: [
        {
          id: 'get-authenticated-user',
          name: 'Get Authenticated User',
          description: 'The user the token belongs to.',
          category: 'Users',
          type: 'action',
          http: { method: 'GET', path: '/user' },
          response: { fields: [{ location: 'login', field: 'Login', type: 'text' }, { location: 'id', field: 'UserId', type: 'integer' }] },
        },
        {
          id: 'list-repositories',
          name: 'List Repositories',
          description: 'Repositories of the authenticated user, newest first.',
          category: 'Repositories',
          type: 'action',
          http: { method: 'GET', path: '/user/repos' },
          parameters: [
            { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}', hidden: true },
            { name: 'NextPage', target: 'responseField', targetName: 'header:Link', value: '{{PAGE_NEXT_URL}}', hidden: true },
          ],
          records: '',
          response: {
            fields: [
              { location: 'id', field: 'RepositoryId', type: 'integer' },
              { location: 'full_name', field: 'FullName', type: 'text' },
              { location: 'private', field: 'Private', type: 'boolean' },
              { location: 'updated_at', field: 'UpdatedAt', type: 'datetime', format: 'iso8601' },
            ],
          },
        },
        {
          id: 'create-issue',
          name: 'Create Issue',
          description: 'Open an issue in a repository.',
          category: 'Issues',
          type: 'action',
          http: { method: 'POST', path: '/repos/{{Owner}}/{{Repo}}/issues' },
          parameters: [
            { name: 'Owner', target: 'mergeField' },
            { name: 'Repo', target: 'mergeField' },
          ],
          request: { format: 'json', fields: [{ location: 'title', field: 'Title', type: 'text' }, { location: 'body', field: 'Body', type: 'text', optional: true }] },
          response: { fields: [{ location: 'number', field: 'IssueNumber', type: 'integer' }, { location: 'html_url', field: 'Url', type: 'text' }] },
        },
      ],
    },
  },
}

// Log redaction: secrets never reach a log line.
export const redactPaths = {
  paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', '*.apiKey', '*.password', '*.clientSecret', '*.client_secret', '*.accessToken', '*.refreshToken'],
  censor: '[REDACTED]',
}

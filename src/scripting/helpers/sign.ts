// cyclr_sign(algorithm, key, value): HMAC with a text key or RSA (PKCS#1 v1.5) with a PEM private
// key, computed by the host's crypto. The signature is returned base64-encoded.
import { createHmac, createPrivateKey, createSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

const HMAC: Record<string, string> = { 'HMAC-SHA1': 'sha1', 'HMAC-SHA256': 'sha256', 'HMAC-SHA512': 'sha512' };
const RSA: Record<string, string> = {
  'RSA-SHA1': 'RSA-SHA1',
  'RSA-SHA224': 'RSA-SHA224',
  'RSA-SHA256': 'RSA-SHA256',
  'RSA-SHA384': 'RSA-SHA384',
  'RSA-SHA512': 'RSA-SHA512',
};

export const SIGN_ALGORITHMS = [...Object.keys(HMAC), ...Object.keys(RSA)];

// Parsing a PEM key costs ~100 µs; scripts sign with the same key again and again.
const keyCache = new Map<string, KeyObject>();

function privateKey(text: string): KeyObject {
  let key = keyCache.get(text);
  if (key) return key;
  try {
    if (text.includes('-----BEGIN')) key = createPrivateKey({ key: text, format: 'pem' });
    else key = createPrivateKey({ key: Buffer.from(text.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'pkcs8' });
  } catch {
    // The key is a secret: never echo it or the parser's view of it.
    throw new Error('cyclr_sign: the key is not a valid PEM (or base64 PKCS#8) RSA private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error('cyclr_sign: the key is not an RSA private key');
  if (keyCache.size >= 32) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(text, key);
  return key;
}

export function cyclrSign(algorithm: unknown, key: unknown, value: unknown): string {
  const alg = typeof algorithm === 'string' ? algorithm.trim().toUpperCase() : '';
  const data = value === undefined || value === null ? '' : String(value);
  const keyText = key === undefined || key === null ? '' : String(key);
  const hmac = HMAC[alg];
  if (hmac) return createHmac(hmac, keyText).update(data, 'utf8').digest('base64');
  const rsa = RSA[alg];
  if (rsa) return createSign(rsa).update(data, 'utf8').sign(privateKey(keyText), 'base64');
  throw new Error(`cyclr_sign: unsupported algorithm ${JSON.stringify(String(algorithm)).slice(0, 40)} (supported: ${SIGN_ALGORITHMS.join(', ')})`);
}

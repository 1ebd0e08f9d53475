import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import {
  assertUrlAllowed,
  createGuardedLookup,
  isAddressBlocked,
  isMetadataAddress,
  isPrivateAddress,
  SSRF_BLOCKED_CODE,
} from '../../../src/runtime/http/ssrf-guard.js';
import type { Resolver } from '../../../src/runtime/http/ssrf-guard.js';

test('isPrivateAddress: private, loopback, link-local, reserved and special IPv4 ranges', () => {
  const privateV4 = [
    '127.0.0.1', '127.255.255.254', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255',
    '192.168.1.1', '100.64.0.1', '100.127.255.255', '169.254.0.1', '169.254.169.254', '0.0.0.0',
    '0.1.2.3', '224.0.0.1', '239.255.255.250', '255.255.255.255', '240.0.0.1', '198.18.0.1', '192.0.0.192',
  ];
  for (const ip of privateV4) assert.equal(isPrivateAddress(ip), true, ip);
  const publicV4 = ['8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '93.184.216.34', '11.0.0.1'];
  for (const ip of publicV4) assert.equal(isPrivateAddress(ip), false, ip);
});

test('isPrivateAddress: IPv6 ranges, including IPv4 embedded in IPv6', () => {
  const privateV6 = [
    '::1', '::', '[::1]', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'fc00::1', 'fd12:3456::1', 'fd00:ec2::254', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '[::ffff:10.0.0.1]', '::ffff:169.254.169.254', '::ffff:192.168.0.1',
    '64:ff9b::a00:1', '2002:7f00:1::', '::127.0.0.1', '2001:db8::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2',
  ];
  for (const ip of privateV6) assert.equal(isPrivateAddress(ip), true, ip);
  const publicV6 = ['2606:4700:4700::1111', '2a00:1450:4001:81b::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::'];
  for (const ip of publicV6) assert.equal(isPrivateAddress(ip), false, ip);
});

test('isPrivateAddress fails closed on anything that is not an IP address', () => {
  for (const bad of ['', 'localhost', 'example.com', '1.2.3', '999.1.1.1', ':::1']) assert.equal(isPrivateAddress(bad), true, bad);
});

test('metadata addresses are blocked even when private networks are allowed', () => {
  assert.equal(isMetadataAddress('169.254.169.254'), true);
  assert.equal(isMetadataAddress('::ffff:169.254.169.254'), true);
  assert.equal(isMetadataAddress('fd00:ec2::254'), true);
  assert.equal(isMetadataAddress('FD00:0EC2:0000::0254'), true);
  assert.equal(isMetadataAddress('169.254.1.1'), false);
  assert.equal(isAddressBlocked('169.254.169.254', { allowPrivateNetwork: true }), true);
  assert.equal(isAddressBlocked('10.0.0.1', { allowPrivateNetwork: true }), false);
  assert.equal(isAddressBlocked('10.0.0.1', { allowPrivateNetwork: false }), true);
  assert.equal(isAddressBlocked('8.8.8.8', { allowPrivateNetwork: false }), false);
  // An injected predicate replaces the whole decision.
  assert.equal(isAddressBlocked('127.0.0.1', { isBlocked: (ip) => ip === '127.0.0.2' }), false);
  assert.equal(isAddressBlocked('[::1]', { isBlocked: (ip) => ip === '::1' }), true);
});

test('assertUrlAllowed checks literal IP hosts and the protocol, and leaves host names to the lookup', () => {
  const policy = { allowPrivateNetwork: false };
  for (const u of ['http://127.0.0.1/', 'http://[::1]:8080/', 'http://[::ffff:127.0.0.1]/', 'http://0x7f.1/', 'http://2130706433/', 'https://10.1.2.3/']) {
    assert.throws(() => assertUrlAllowed(new URL(u), policy), { code: SSRF_BLOCKED_CODE }, u);
  }
  assert.throws(() => assertUrlAllowed(new URL('file:///etc/passwd'), { allowPrivateNetwork: true }), { code: SSRF_BLOCKED_CODE });
  assert.doesNotThrow(() => assertUrlAllowed(new URL('https://8.8.8.8/'), policy));
  assert.doesNotThrow(() => assertUrlAllowed(new URL('https://localhost/'), policy)); // resolved later, by the lookup
});

function lookupOnce(
  lookup: ReturnType<typeof createGuardedLookup>,
  host: string,
  all: boolean,
): Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) => lookup(host, { all }, (err, address, family) => resolve({ err, address, family })));
}

test('guarded lookup refuses when any resolved address is private, and passes the checked addresses on', async () => {
  const table: Record<string, LookupAddress[]> = {
    'public.example': [{ address: '93.184.216.34', family: 4 }],
    'mixed.example': [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }],
    'v6.example': [{ address: '::ffff:127.0.0.1', family: 6 }],
  };
  const resolve: Resolver = async (host) => table[host] ?? [];
  const lookup = createGuardedLookup({ allowPrivateNetwork: false }, resolve);

  const ok = await lookupOnce(lookup, 'public.example', false);
  assert.equal(ok.err, null);
  assert.equal(ok.address, '93.184.216.34');
  assert.equal(ok.family, 4);
  const okAll = await lookupOnce(lookup, 'public.example', true);
  assert.deepEqual(okAll.address, table['public.example']);

  const mixed = await lookupOnce(lookup, 'mixed.example', true);
  assert.equal(mixed.err?.code, SSRF_BLOCKED_CODE);
  assert.match(mixed.err!.message, /mixed\.example.*10\.0\.0\.5/);
  assert.equal((await lookupOnce(lookup, 'v6.example', false)).err?.code, SSRF_BLOCKED_CODE);
  assert.equal((await lookupOnce(lookup, 'nothing.example', false)).err?.code, 'ENOTFOUND');

  const allowed = createGuardedLookup({ allowPrivateNetwork: true }, resolve);
  assert.equal((await lookupOnce(allowed, 'mixed.example', true)).err, null);
});

test('guarded lookup with the real resolver blocks localhost', async () => {
  const res = await lookupOnce(createGuardedLookup({ allowPrivateNetwork: false }), 'localhost', true);
  assert.equal(res.err?.code, SSRF_BLOCKED_CODE);
});

// Signs ID tokens with npm `jose`, an independent JOSE implementation, for the differential
// test (tests/peers/jose_differential.rs). Prints one JSON document on stdout:
// { now, jwks, tokens: [{ name, token, expect: { issuer, client_id, nonce, sub, ... } }] }.
// Never touches the network.
import { load } from './resolve.mjs';

const jose = await load('jose');

const ISSUER = 'https://op.example.test';
const CLIENT = 'meetvault-client';
const now = Math.floor(Date.now() / 1000);

async function key(alg, kid, options = {}) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...options });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, use: 'sig' };
  return { alg, kid, privateKey, jwk };
}

const rs = await key('RS256', 'rsa-pkcs1');
const ps = await key('PS256', 'rsa-pss');
const es = await key('ES256', 'ec-p256');
const ed = await key('EdDSA', 'ed25519', { crv: 'Ed25519' });
// An encryption key and a key of a type meetvault does not use: the set must still parse.
const enc = await key('RSA-OAEP-256', 'rsa-enc');
enc.jwk.use = 'enc';
const secp = { kty: 'EC', crv: 'secp256k1', kid: 'k1', x: 'AAAA', y: 'AAAA' };

const cases = [
  {
    name: 'RS256, plain claims', k: rs,
    claims: { sub: 'user-1', email: 'ada@example.com', email_verified: true, name: 'Ada Lovelace' },
  },
  {
    name: 'PS256, several audiences with azp, unicode name', k: ps,
    aud: [CLIENT, 'https://api.example.test'],
    claims: {
      sub: 'user-ü-2', azp: CLIENT, email: 'zoë@example.test', email_verified: 'true',
      name: 'Zoë Ågren 李小龍 🙂', given_name: 'Zoë', family_name: 'Ågren',
    },
  },
  {
    name: 'ES256, long strings and nested claims', k: es,
    claims: {
      sub: 's'.repeat(255), email: 'long@example.com', email_verified: false,
      name: 'N'.repeat(2000), groups: Array.from({ length: 50 }, (_, i) => `group-${i}`),
      address: { street_address: '1 Main St\nApt 2', country: 'NZ' }, blob: 'x'.repeat(4000),
    },
  },
  {
    name: 'EdDSA, Google-style string and hosted domain', k: ed,
    claims: { sub: '1234567890', email: 'g@corp.example', email_verified: 'false', hd: 'corp.example' },
  },
  {
    name: 'ES256 without kid (the only P-256 key is used)', k: es, noKid: true,
    claims: { sub: 'nokid', nbf: now - 10 },
  },
  {
    name: 'RS256, Entra-style xms_edov without email_verified', k: rs,
    claims: { sub: 'entra-user', email: 'e@contoso.example', xms_edov: true, tid: '9122040d-6c67-4c5b-b112-36a304b66dad' },
  },
];

const tokens = [];
for (const c of cases) {
  const nonce = `nonce-${tokens.length}-${Math.random().toString(36).slice(2)}`;
  const header = { alg: c.k.alg, typ: 'JWT' };
  if (!c.noKid) header.kid = c.k.kid;
  const token = await new jose.SignJWT({ ...c.claims, nonce })
    .setProtectedHeader(header)
    .setIssuer(ISSUER)
    .setAudience(c.aud ?? CLIENT)
    .setIssuedAt(now - 2)
    .setExpirationTime(now + 300)
    .sign(c.k.privateKey);
  tokens.push({
    name: c.name,
    token,
    expect: { issuer: ISSUER, client_id: CLIENT, nonce, ...c.claims },
  });
}

process.stdout.write(JSON.stringify({
  now,
  jwks: { keys: [rs.jwk, ps.jwk, es.jwk, ed.jwk, enc.jwk, secp] },
  tokens,
}));

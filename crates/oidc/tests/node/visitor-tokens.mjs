// Makes widget visitor tokens with npm `jose`, an independent JOSE implementation, and judges
// each with jose's own jwtVerify, for the differential test
// (tests/peers/visitor_differential.rs). Input: the environment variable VISITOR_INPUT, JSON
// { now, audience, secrets: [{ label, b64 }] } (b64 is base64url). Output: one JSON line per
// token, { name, secret, token, jose_ok, jose_error, claims }, for every case and every secret.
// Tokens jose refuses to make (alg confusion, crit, repeated keys) are put together by hand
// with node:crypto's HMAC. Never touches the network.
import { createHmac } from 'node:crypto';
import { load } from './resolve.mjs';

const jose = await load('jose');

const input = JSON.parse(process.env.VISITOR_INPUT ?? 'null');
if (!input) {
  console.error('VISITOR_INPUT is not set (run through tests/peers/visitor_differential.rs)');
  process.exit(2);
}
const { now, audience } = input;

const b64 = (text) => Buffer.from(text).toString('base64url');
const hmac = (secret, data) => createHmac('sha256', secret).update(data).digest('base64url');

/** Signs exactly these header and claims texts with HS256 (or whatever alg the header says). */
function byHand(secret, header, claimsText) {
  const signingInput = `${b64(header)}.${b64(claimsText)}`;
  return `${signingInput}.${hmac(secret, signingInput)}`;
}

function claims(extra = {}) {
  return {
    sub: 'visitor-42', email: 'ada@example.com', name: 'Zoë Ågren 李小龍 🙂',
    aud: audience, iat: now - 5, exp: now + 600, ...extra,
  };
}

/** Drops the claims whose value is undefined (so a case can remove one). */
function clean(c) {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
}

async function jwt(secret, c, header = { alg: 'HS256', typ: 'JWT' }) {
  return new jose.SignJWT(clean(c)).setProtectedHeader(header).sign(secret);
}

const rsa = await jose.generateKeyPair('RS256');

/** Every case: how the token is made with this secret, and the claims it carries. */
function cases(secret) {
  const valid = claims();
  const hostile = claims({
    sub: "user'; DROP TABLE visitors;--",
    email: '"><img src=x onerror=alert(1)>@example.com',
    name: '</script><script>alert("x")</script>\u2028\u0000 ǅ\uFEFF',
  });
  const headerTyp = { alg: 'HS256', typ: 'JWT' };
  const withTyp = (typ) => ({ alg: 'HS256', typ });
  const other = crypto.getRandomValues(new Uint8Array(32));
  const jweKey = secret.length === 32 ? secret : crypto.getRandomValues(new Uint8Array(32));
  const tamper = async () => {
    const [h, , s] = (await jwt(secret, valid)).split('.');
    return `${h}.${b64(JSON.stringify(claims({ sub: 'admin' })))}.${s}`;
  };
  const signatureEdit = async (edit) => {
    const [h, p, s] = (await jwt(secret, valid)).split('.');
    return `${h}.${p}.${edit(s)}`;
  };
  // The last of 43 characters carries 4 bits of the signature and 2 unused bits: setting an
  // unused bit gives another spelling of the same signature bytes.
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const nonCanonical = (s) => s.slice(0, -1) + ALPHABET[ALPHABET.indexOf(s.at(-1)) | 1];
  const dup = `{"sub":"visitor-42","aud":${JSON.stringify(audience)},"exp":${now + 600},"sub":"admin"}`;

  return [
    ['valid', valid, () => jwt(secret, valid)],
    ['valid, hostile texts', hostile, () => jwt(secret, hostile)],
    ['valid, only sub aud exp', { sub: 'v', aud: audience, exp: now + 300 },
      () => jwt(secret, { sub: 'v', aud: audience, exp: now + 300 }, { alg: 'HS256' })],
    ['valid, typ jwt in lower case', valid, () => jwt(secret, valid, withTyp('jwt'))],
    ['typ at+jwt', valid, () => jwt(secret, valid, withTyp('at+jwt'))],
    ['typ application/jwt', valid, () => jwt(secret, valid, withTyp('application/jwt'))],
    ['aud array with ours', claims({ aud: ['https://other.example', audience] }),
      () => jwt(secret, claims({ aud: ['https://other.example', audience] }))],
    ['aud array without ours', claims({ aud: ['https://other.example', `${audience}x`] }),
      () => jwt(secret, claims({ aud: ['https://other.example', `${audience}x`] }))],
    ['wrong aud', claims({ aud: `${audience}-other` }), () => jwt(secret, claims({ aud: `${audience}-other` }))],
    ['missing aud', claims({ aud: undefined }), () => jwt(secret, claims({ aud: undefined }))],
    ['expired', claims({ iat: now - 700, exp: now - 31 }),
      () => jwt(secret, claims({ iat: now - 700, exp: now - 31 }))],
    ['expired within leeway', claims({ iat: now - 700, exp: now - 29 }),
      () => jwt(secret, claims({ iat: now - 700, exp: now - 29 }))],
    ['exp 2 hours ahead', claims({ iat: now, exp: now + 7200 }),
      () => jwt(secret, claims({ iat: now, exp: now + 7200 }))],
    ['exp at the one-hour limit', claims({ iat: now, exp: now + 3630 }),
      () => jwt(secret, claims({ iat: now, exp: now + 3630 }))],
    ['exp fractional', claims({ exp: now + 300.5 }), () => jwt(secret, claims({ exp: now + 300.5 }))],
    ['missing exp', claims({ exp: undefined }), () => jwt(secret, claims({ exp: undefined }))],
    ['iat in future', claims({ iat: now + 120 }), () => jwt(secret, claims({ iat: now + 120 }))],
    ['nbf in future', claims({ nbf: now + 120 }), () => jwt(secret, claims({ nbf: now + 120 }))],
    ['nbf within leeway', claims({ nbf: now + 20 }), () => jwt(secret, claims({ nbf: now + 20 }))],
    ['missing sub', claims({ sub: undefined }), () => jwt(secret, claims({ sub: undefined }))],
    ['sub of 256 characters', claims({ sub: '🙂'.repeat(256) }), () => jwt(secret, claims({ sub: '🙂'.repeat(256) }))],
    ['sub of 257 characters', claims({ sub: 's'.repeat(257) }), () => jwt(secret, claims({ sub: 's'.repeat(257) }))],
    ['name of 201 characters', claims({ name: 'é'.repeat(201) }), () => jwt(secret, claims({ name: 'é'.repeat(201) }))],
    ['email of 321 characters', claims({ email: `${'e'.repeat(311)}@x.example` }),
      () => jwt(secret, claims({ email: `${'e'.repeat(311)}@x.example` }))],
    ['wrong secret', valid, () => jwt(other, valid)],
    ['alg none', valid, async () => new jose.UnsecuredJWT(clean(valid)).encode()],
    ['RS256 signed with an RSA key', valid, () => jwt(rsa.privateKey, valid, { alg: 'RS256', typ: 'JWT' })],
    ['RS256 header signed by HMAC with the secret', valid,
      async () => byHand(secret, '{"alg":"RS256","typ":"JWT"}', JSON.stringify(valid))],
    ['HS384', valid, () => jwt(secret, valid, { alg: 'HS384', typ: 'JWT' })],
    ['crit x-custom', valid,
      async () => byHand(secret, '{"alg":"HS256","crit":["x-custom"],"x-custom":1}', JSON.stringify(valid))],
    ['crit b64', valid, () => jwt(secret, valid, { alg: 'HS256', b64: true, crit: ['b64'] })],
    ['JWE', valid, () => new jose.EncryptJWT(clean(valid))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(jweKey)],
    ['oversized', claims({ pad: 'x'.repeat(4000) }), () => jwt(secret, claims({ pad: 'x'.repeat(4000) }))],
    ['tampered payload', claims({ sub: 'admin' }), tamper],
    ['signature padded with =', valid, () => signatureEdit((s) => `${s}=`)],
    ['signature in non-canonical base64url', valid, () => signatureEdit(nonCanonical)],
    ['signature in base64 with +', valid, () => signatureEdit((s) => `+${s.slice(1)}`)],
    ['repeated sub', { sub: 'admin' }, async () => byHand(secret, JSON.stringify(headerTyp), dup)],
    ['claims are an array', null, async () => byHand(secret, JSON.stringify(headerTyp), JSON.stringify([valid]))],
  ];
}

/** jose's verdict, told every rule its options can express. */
async function judge(token, secret, signedClaims) {
  const header = (() => {
    try { return jose.decodeProtectedHeader(token); } catch { return {}; }
  })();
  const options = {
    algorithms: ['HS256'],
    audience,
    clockTolerance: 30,
    currentDate: new Date(now * 1000),
    requiredClaims: ['exp', 'sub'],
  };
  if (signedClaims && signedClaims.iat !== undefined) options.maxTokenAge = '1h';
  if (header.typ !== undefined) options.typ = 'JWT';
  try {
    await jose.jwtVerify(token, secret, options);
    return { jose_ok: true, jose_error: null };
  } catch (e) {
    return { jose_ok: false, jose_error: `${e.code ?? e.name}: ${e.message}` };
  }
}

for (const { label, b64: encoded } of input.secrets) {
  const secret = new Uint8Array(Buffer.from(encoded, 'base64url'));
  for (const [name, signedClaims, make] of cases(secret)) {
    const token = await make();
    const verdict = await judge(token, secret, signedClaims);
    const line = { name, secret: label, token, ...verdict, claims: signedClaims ? clean(signedClaims) : null };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

// A real OpenID Provider for the full-flow test (tests/peers/oidc_provider_flow.rs):
// npm `oidc-provider` (certified), on 127.0.0.1 only, with its development login and consent
// pages. Configuration by environment:
//   OIDC_NODE_DIR   where scripts/oidc-tools.sh installed the packages
//   PORT            port to listen on (0: any free one)
//   CLIENT_ID, CLIENT_SECRET, REDIRECT_URI   the one registered client (client_secret_basic)
//   ACCOUNTS        optional JSON {login: {email, email_verified, name}} replacing the defaults
// Accounts: `ada` (email verified) and `bob` (email not verified); any password.
// Signs with the first of two RSA keys; both are published (a rotation in progress).
// Prints `READY <port>` on stdout once it accepts connections.
import http from 'node:http';
import { load } from '../node/resolve.mjs';

const { default: Provider } = await load('oidc-provider');
const jose = await load('jose');

for (const name of ['CLIENT_ID', 'CLIENT_SECRET', 'REDIRECT_URI']) {
  if (!process.env[name]) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
}

const accounts = process.env.ACCOUNTS ? JSON.parse(process.env.ACCOUNTS) : {
  ada: { email: 'ada@example.com', email_verified: true, name: 'Ada Lovelace' },
  bob: { email: 'bob@example.com', email_verified: false, name: 'Bob Unverified' },
};

async function signingKey(kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [await signingKey('current-2025'), await signingKey('next-2026')] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the scope's claims in the ID token, as Google and Entra ID do, not only in UserInfo.
  conformIdTokenClaims: false,
  cookies: { keys: ['meetvault-test-cookie-key'] },
  ttl: { AuthorizationCode: 60, AccessToken: 600, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
});

server.on('request', provider.callback());
process.stdout.write(`READY ${port}\n`);

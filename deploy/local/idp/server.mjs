// A real OpenID Connect provider (panva/oidc-provider 8.x) for local runs and the portal's tests.
// Not for production: in-memory storage, keys made at start unless IDP_JWKS names a file.
// Started by deploy/local/idp.sh and tests/idp.py; see deploy/README.md "Sign-in (OpenID Connect)".
//
// Settings (environment, with defaults):
//   IDP_PORT=9400                 listens on IDP_HOST (127.0.0.1)
//   IDP_ISSUER=http://127.0.0.1:$IDP_PORT
//   IDP_ACCOUNTS=accounts.dev.json (beside this file): [{sub, password, name, roles, region, commission, email}]
//   IDP_CLIENTS                   a JSON list of client metadata; unset: one confidential client
//     IDP_CLIENT_ID=uzdik-portal, IDP_CLIENT_SECRET=uzdik-portal-dev-secret,
//     IDP_REDIRECT_URIS=http://127.0.0.1:8000/auth/callback (comma-separated),
//     IDP_POST_LOGOUT_URIS=http://127.0.0.1:8000/?signed_out=1 (comma-separated)
//   IDP_AUDIENCE=uzdik            the "aud" of access tokens
//   IDP_RESOURCE=urn:uzdik:api    the resource indicator (RFC 8707) every access token is for
//   IDP_ACCESS_TOKEN_TTL=3600     seconds
//   IDP_JWKS                      a file with a private JWK Set; unset: an RSA key made at start
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;

function fail(message) {
  console.error(`idp: ERROR: ${message}`);
  process.exit(2);
}

function splitList(value) {
  return (value || '').split(',').map((s) => s.trim()).filter(Boolean);
}

function readJson(file, what) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read the ${what} file ${file}: ${err.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(`the ${what} file ${file} is not JSON: ${err.message}`);
  }
  return undefined;
}

const PORT = Number(env.IDP_PORT || 9400);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) fail(`invalid IDP_PORT '${env.IDP_PORT}'`);
const HOST = env.IDP_HOST || '127.0.0.1';
const ISSUER = (env.IDP_ISSUER || `http://127.0.0.1:${PORT}`).replace(/\/+$/, '');
const AUDIENCE = env.IDP_AUDIENCE || 'uzdik';
const RESOURCE = env.IDP_RESOURCE || 'urn:uzdik:api';
const RESOURCE_SCOPE = 'uzdik';
const ACCESS_TOKEN_TTL = Number(env.IDP_ACCESS_TOKEN_TTL || 3600);
if (!(ACCESS_TOKEN_TTL > 0)) fail(`invalid IDP_ACCESS_TOKEN_TTL '${env.IDP_ACCESS_TOKEN_TTL}'`);

// ---- accounts --------------------------------------------------------------------------------
const accountsFile = env.IDP_ACCOUNTS || path.join(HERE, 'accounts.dev.json');
const accountList = readJson(accountsFile, 'accounts');
if (!Array.isArray(accountList)) fail(`the accounts file ${accountsFile} must hold a JSON list`);
const ACCOUNTS = new Map();
for (const [i, a] of accountList.entries()) {
  const where = `account #${i + 1} of ${accountsFile}`;
  if (!a || typeof a.sub !== 'string' || !a.sub) fail(`${where} has no "sub"`);
  if (typeof a.password !== 'string' || !a.password) fail(`${where} (${a.sub}) has no "password"`);
  if (!Array.isArray(a.roles) || a.roles.some((r) => typeof r !== 'string')) {
    fail(`${where} (${a.sub}): "roles" must be a list of strings`);
  }
  for (const key of ['region', 'commission', 'email', 'name']) {
    if (a[key] != null && typeof a[key] !== 'string') fail(`${where} (${a.sub}): "${key}" must be a string or null`);
  }
  if (ACCOUNTS.has(a.sub)) fail(`${where}: the sub "${a.sub}" appears twice`);
  ACCOUNTS.set(a.sub, a);
}

/** The account whose sub (or e-mail) is ``login`` and whose password is ``password``. */
function authenticate(login, password) {
  const wanted = (login || '').trim();
  const account = ACCOUNTS.get(wanted)
    || [...ACCOUNTS.values()].find((a) => a.email && a.email.toLowerCase() === wanted.toLowerCase());
  // Compare digests: equal length, constant time; an unknown login costs the same.
  const given = crypto.createHash('sha256').update(password || '').digest();
  const known = crypto.createHash('sha256').update(account ? account.password : crypto.randomUUID()).digest();
  return account && crypto.timingSafeEqual(given, known) ? account : undefined;
}

/** The uzdik claims of an account: region and commission only when set. */
function uzdikClaims(account) {
  const claims = { name: account.name || account.sub, roles: [...account.roles] };
  if (account.region) claims.region = account.region;
  if (account.commission) claims.commission = account.commission;
  return claims;
}

// ---- clients ---------------------------------------------------------------------------------
function defaultClients() {
  const redirects = splitList(env.IDP_REDIRECT_URIS);
  const logouts = splitList(env.IDP_POST_LOGOUT_URIS);
  return [{
    client_id: env.IDP_CLIENT_ID || 'uzdik-portal',
    client_secret: env.IDP_CLIENT_SECRET || 'uzdik-portal-dev-secret',
    client_name: 'uzdik portal',
    redirect_uris: redirects.length ? redirects : ['http://127.0.0.1:8000/auth/callback'],
    post_logout_redirect_uris: logouts.length ? logouts : ['http://127.0.0.1:8000/?signed_out=1'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }];
}
const CLIENTS = env.IDP_CLIENTS ? readJson(env.IDP_CLIENTS, 'clients') : defaultClients();
if (!Array.isArray(CLIENTS) || !CLIENTS.length) fail(`the clients file ${env.IDP_CLIENTS} must hold a non-empty JSON list`);

// ---- keys ------------------------------------------------------------------------------------
function makeJwks() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: `idp-${crypto.randomBytes(6).toString('hex')}`, use: 'sig', alg: 'RS256' }] };
}
const JWKS = env.IDP_JWKS ? readJson(env.IDP_JWKS, 'JWKS') : makeJwks();

// ---- pages -----------------------------------------------------------------------------------
function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
label{display:block;margin-top:1rem;font-weight:600}input{display:block;width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#a4000f;border:1px solid #a4000f;padding:.5rem}
.note{color:#555;font-size:.9rem}`;

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · uzdik local identity provider</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid, client, { login = '', error = '' } = {}) {
  const to = client?.clientName || client?.clientId || 'the application';
  return page('Sign in', `<h1>Sign in</h1>
<p>to continue to <strong>${esc(to)}</strong></p>
${error ? `<p class="error" role="alert" id="login-error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label for="login">Username</label>
<input id="login" name="login" type="text" value="${esc(login)}" autocapitalize="off" spellcheck="false" autofocus required>
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>
<p class="note"><a href="/interaction/${esc(uid)}/abort">Cancel</a></p>`);
}

function send(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  });
  res.end(html);
}

async function readForm(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('the form is too large'), { status: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// ---- the provider ----------------------------------------------------------------------------
const configuration = {
  clients: CLIENTS,
  jwks: JWKS,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  // Scope-requested claims go into the ID token as well as userinfo (the portal reads the ID
  // token; its access token is for the API, not for userinfo). roles/region/commission come
  // with "profile" too, so the portal's default "openid profile" sees them.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    profile: ['name', 'roles', 'region', 'commission'],
    email: ['email', 'email_verified'],
    uzdik: ['name', 'roles', 'region', 'commission'],
  },
  async findAccount(ctx, sub) {
    const account = ACCOUNTS.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        const claims = { sub, ...uzdikClaims(account) };
        if (account.email) {
          claims.email = account.email;
          claims.email_verified = true;
        }
        return claims;
      },
    };
  },
  // Access tokens are JWTs for the uzdik API: its claims are what shared/auth.py reads.
  async extraTokenClaims(ctx, token) {
    if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
    const account = ACCOUNTS.get(token.accountId);
    return account ? uzdikClaims(account) : undefined;
  },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async defaultResource() {
        return RESOURCE;
      },
      async useGrantedResource() {
        return true;
      },
      async getResourceServerInfo(ctx, indicator) {
        if (indicator !== RESOURCE) throw new errors.InvalidTarget(`unknown resource ${indicator}; this provider serves ${RESOURCE}`);
        return {
          scope: RESOURCE_SCOPE,
          audience: AUDIENCE,
          accessTokenTTL: ACCESS_TOKEN_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
    rpInitiatedLogout: {
      enabled: true,
      // No confirmation to click: the page submits itself (JavaScript), a button otherwise.
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out', `<h1>Signing out…</h1>
${form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>')}
<button type="submit" form="op.logoutForm" autofocus>Sign out</button>
<script>document.getElementById('op.logoutForm').submit();</script>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<h1>Signed out</h1><p>You have signed out.</p>');
      },
    },
  },
  responseTypes: ['code'],
  pkce: { methods: ['S256'], required: () => true },
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  interactions: {
    url(ctx, interaction) {
      return `/interaction/${interaction.uid}`;
    },
  },
  clientBasedCORS: () => false,
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Sign-in error</h1>
<p class="error" role="alert"><code id="error">${esc(out.error)}</code>: <span id="error_description">${esc(out.error_description)}</span></p>`);
  },
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 14 * 24 * 3600,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
};

let provider;
try {
  provider = new Provider(ISSUER, configuration);
} catch (err) {
  fail(`the provider refused its configuration: ${err.message}`);
}
if (new URL(ISSUER).protocol === 'https:') provider.proxy = true;
provider.on('server_error', (ctx, err) => console.error('idp: server error:', err));

// ---- the interaction pages (login; consent is granted without asking) ------------------------
async function grantEverything(details) {
  const { prompt: { details: missing }, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  return grantId ? {} : { grantId: saved };
}

async function interaction(req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new errors.SessionNotFound('interaction session and URL do not match');
  const client = await provider.Client.find(details.params.client_id);
  const name = details.prompt.name;

  if (req.method === 'GET' && action === undefined) {
    if (name === 'login') return send(res, 200, loginPage(uid, client));
    if (name === 'consent') {
      const consent = await grantEverything(details);
      return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
    }
    return send(res, 400, page('Error', `<p class="error" role="alert">Unexpected prompt ${esc(name)}.</p>`));
  }
  if (req.method === 'POST' && action === 'login') {
    if (name !== 'login') throw new errors.SessionNotFound('this interaction is not a sign-in');
    const form = await readForm(req);
    const account = authenticate(form.get('login'), form.get('password'));
    if (!account) {
      console.log(`idp: sign-in refused for '${(form.get('login') || '').slice(0, 80)}'`);
      return send(res, 200, loginPage(uid, client, { login: form.get('login') || '', error: 'Wrong username or password.' }));
    }
    console.log(`idp: signed in ${account.sub}`);
    return provider.interactionFinished(req, res, { login: { accountId: account.sub, amr: ['pwd'] } }, { mergeWithLastSubmission: false });
  }
  if (req.method === 'GET' && action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'the person cancelled the sign-in',
    }, { mergeWithLastSubmission: false });
  }
  return send(res, 404, page('Not found', '<p>Not found.</p>'));
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://idp.invalid');
  if (!url.pathname.startsWith('/interaction/')) return callback(req, res);
  interaction(req, res, url).catch((err) => {
    if (res.headersSent) return res.end();
    if (err instanceof errors.OIDCProviderError) {
      return send(res, err.statusCode || 400, page('Error', `<h1>Sign-in error</h1>
<p class="error" role="alert"><code id="error">${esc(err.error)}</code>: <span id="error_description">${esc(err.error_description || err.message)}</span></p>
<p>Start again from the application.</p>`));
    }
    console.error('idp: interaction failed:', err);
    return send(res, err.status || 500, page('Error', `<p class="error" role="alert">${esc(err.message)}</p>`));
  });
  return undefined;
});
server.on('error', (err) => fail(`cannot listen on ${HOST}:${PORT}: ${err.message}`));
server.listen(PORT, HOST, () => {
  console.log(`idp: ready on ${ISSUER}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}

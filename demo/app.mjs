// The fastify-login demo: a small site with a login form, remember-me, a page
// that needs a fresh login, re-authentication, a "Your sessions" page (log out
// other devices), logout and a JSON route.
// Run it with `npm start` and open http://localhost:3000/.
//
// It imports the built package by name, as an app would (`npm run build`
// first; `npm start` does that). Everything is in memory and resets on restart.

import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import formbody from '@fastify/formbody'
import flash from '@fastify/flash'
import fastifyLogin, { LoginThrottledError } from 'fastify-login'

const scrypt = promisify(scryptCallback)

// =====================================================================
//  DEVELOPMENT ONLY session key. It is public (it is in this file), so
//  anyone can forge sessions for an app that uses it. Never deploy it:
//  set SESSION_KEY to your own key, 32 random bytes in base64, made with
//    node -e "console.log(require('node:crypto').randomBytes(32).toString('base64'))"
// =====================================================================
const DEVELOPMENT_ONLY_SESSION_KEY = 'aTGtCmUosMPr1HXXBT39hFXvGtDz9IOk4H4AZ0BB9II='
// DEVELOPMENT ONLY JWT secret, public for the same reason: set JWT_SECRET
// (32+ bytes) to your own before the API serves anyone.
const DEVELOPMENT_ONLY_JWT_SECRET = 'demo-only-jwt-secret-do-not-deploy-0123456789'

const SESSION_KEY_BYTES = 32
const MIN_JWT_SECRET_BYTES = 32

/**
 * A setting from the environment that the demo cannot start with. Its
 * message is one line, meant for the terminal: server.mjs prints it and
 * exits with code 1. It never contains the value itself (it may be a secret).
 */
export class DemoConfigError extends Error {
  constructor (message) {
    super(message)
    this.name = 'DemoConfigError'
    this.code = 'DEMO_INVALID_CONFIG'
  }
}

/**
 * SESSION_KEY, checked: exactly 32 bytes in (padded, standard) base64. The
 * round trip refuses what Buffer.from(…, 'base64') would quietly accept, such
 * as the raw bytes that `npx @fastify/secure-session > key` writes.
 */
function sessionKeyFromEnv () {
  const value = process.env.SESSION_KEY
  if (value === undefined || value === '') return DEVELOPMENT_ONLY_SESSION_KEY
  const key = Buffer.from(value, 'base64')
  if (key.length !== SESSION_KEY_BYTES || key.toString('base64') !== value) {
    throw new DemoConfigError('SESSION_KEY must be 32 random bytes in base64 (44 characters); make one with: ' +
      'node -e "console.log(require(\'node:crypto\').randomBytes(32).toString(\'base64\'))"')
  }
  return value
}

/** JWT_SECRET, checked: HS256 needs 32 bytes or more. */
function jwtSecretFromEnv () {
  const value = process.env.JWT_SECRET
  if (value === undefined || value === '') return DEVELOPMENT_ONLY_JWT_SECRET
  if (Buffer.byteLength(value) < MIN_JWT_SECRET_BYTES) {
    throw new DemoConfigError('JWT_SECRET must be at least 32 bytes long')
  }
  return value
}

/** Binds that a browser on this machine reaches as http://localhost. */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0', '::'])

/**
 * The address to open in a browser for a demo listening on `host`:`port`.
 * Loopback and every-interface binds give http://localhost:<port>/, the one
 * address the README and the pages use: browsers treat localhost as a secure
 * context (so the Secure cookies work over plain HTTP), and cookies are kept
 * per host name, so switching to 127.0.0.1 would look like a logout.
 */
export function browserUrl (host, port) {
  const name = LOCAL_HOSTS.has(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return `http://${name}:${port}/`
}

/** Whether a bind is reachable from this machine only (no other host can see the demo). */
export function isLoopback (host) {
  return host === 'localhost' || host === '127.0.0.1' || host === '::1'
}

/** The demo accounts. Only scrypt hashes of these passwords are kept in the app. */
export const DEMO_CREDENTIALS = Object.freeze([
  Object.freeze({ username: 'alice', password: 'wonderland', note: 'active' }),
  Object.freeze({ username: 'bob', password: 'builder', note: 'active' }),
  Object.freeze({ username: 'carol', password: 'disabled', note: 'inactive: her login is refused' })
])

const DEMO_PROFILES = {
  alice: { id: '1', name: 'Alice Liddell', isActive: true },
  bob: { id: '2', name: 'Bob Marsh', isActive: true },
  carol: { id: '3', name: 'Carol Reyes', isActive: false }
}

const KEY_LENGTH = 64
const MAX_FIELD_LENGTH = 1024

/** scrypt with a per-user random salt. */
async function hashPassword (password, salt = randomBytes(16)) {
  return { salt, hash: await scrypt(password, salt, KEY_LENGTH) }
}

/**
 * The password hashes, computed once per process (scrypt is slow on purpose,
 * and the test suite builds many apps). Unknown usernames are checked against
 * the decoy, so they take as long as known ones.
 */
let hashing = null
function credentialHashes () {
  hashing ??= (async () => {
    const credentials = new Map()
    for (const { username, password } of DEMO_CREDENTIALS) {
      credentials.set(username, { id: DEMO_PROFILES[username].id, ...await hashPassword(password) })
    }
    return { credentials, decoy: await hashPassword(randomBytes(16).toString('hex')) }
  })()
  return hashing
}

/**
 * The in-memory user store of one app. `users` holds what the app shows (and
 * what `request.currentUser` is); the salts and hashes are kept apart, so
 * that no page or JSON route can leak them by accident.
 */
async function createUserStore () {
  const { credentials, decoy } = await credentialHashes()
  const users = new Map()
  for (const { username } of DEMO_CREDENTIALS) {
    const profile = DEMO_PROFILES[username]
    users.set(profile.id, { id: profile.id, username, name: profile.name, isActive: profile.isActive })
  }

  /** The user whose password this is, or null. Same work and same answer shape whatever fails. */
  async function verify (username, password) {
    const record = credentials.get(username)
    const target = record ?? decoy
    const derived = await scrypt(password, target.salt, KEY_LENGTH)
    const matches = timingSafeEqual(derived, target.hash)
    return matches && record !== undefined ? users.get(record.id) ?? null : null
  }

  return { users, verify }
}

// ---------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------

const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Every dynamic value goes through this before it reaches a page. */
function escapeHtml (value) {
  return String(value).replace(/[&<>"']/g, (char) => HTML_ESCAPES[char])
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #1d2433; }
  nav { display: flex; gap: 1rem; align-items: center; border-bottom: 1px solid #d8dce5; padding-bottom: .75rem; flex-wrap: wrap; }
  nav .who { margin-left: auto; color: #566; }
  nav form { margin: 0; }
  label { display: block; margin: .75rem 0 .25rem; }
  label.inline { display: inline; margin: 0; }
  input[type=text], input[type=password] { width: 100%; max-width: 20rem; padding: .4rem; font: inherit; }
  button { font: inherit; padding: .35rem .9rem; cursor: pointer; }
  .message { background: #eef4ff; border: 1px solid #b7cdf5; padding: .5rem .75rem; border-radius: 4px; }
  .error { background: #fff0f0; border: 1px solid #f0b7b7; padding: .5rem .75rem; border-radius: 4px; }
  code, pre { background: #f3f4f7; padding: 0 .25rem; border-radius: 3px; }
  pre { padding: .5rem; overflow-x: auto; }
  table { border-collapse: collapse; }
  td, th { text-align: left; padding: .2rem 1rem .2rem 0; }
  td form { margin: 0; }
  .wide { overflow-x: auto; }
  td.agent { font-size: .85em; max-width: 14rem; overflow-wrap: anywhere; }
`

function navigation (user) {
  const links = '<a href="/">Home</a> <a href="/account">Account</a> <a href="/settings">Settings</a> <a href="/api/me">/api/me</a>'
  const who = user === null
    ? '<span class="who">Not logged in</span> <a href="/login">Log in</a>'
    : `<span class="who">Logged in as <strong>${escapeHtml(user.name)}</strong></span>
       <form method="post" action="/logout"><button type="submit">Log out</button></form>`
  return `<nav>${links} ${who}</nav>`
}

function layout (title, user, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · fastify-login demo</title>
<style>${STYLE}</style>
</head>
<body>
${navigation(user)}
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`
}

function messageList (messages, cssClass = 'message') {
  return messages.map((text) => `<p class="${cssClass}">${escapeHtml(text)}</p>`).join('\n')
}

function sendPage (reply, statusCode, title, user, body) {
  return reply
    .code(statusCode)
    .type('text/html; charset=utf-8')
    // Pages show who is logged in: keep them out of shared and back-button caches.
    .header('cache-control', 'no-store')
    .send(layout(title, user, body))
}

function loginForm ({ username = '', next = '', error = null, messages = [] }) {
  return `${messageList(messages)}
${error === null ? '' : `<p class="error">${escapeHtml(error)}</p>`}
<form method="post" action="/login">
  <input type="hidden" name="next" value="${escapeHtml(next)}">
  <label for="username">Username</label>
  <input type="text" id="username" name="username" value="${escapeHtml(username)}" autocomplete="username" required autofocus>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required>
  <p><input type="checkbox" id="remember" name="remember" value="yes"> <label class="inline" for="remember">Remember me on this browser</label></p>
  <button type="submit">Log in</button>
</form>
<h2>Demo accounts</h2>
<table>
  <tr><th>Username</th><th>Password</th><th></th></tr>
  ${DEMO_CREDENTIALS.map((c) => `<tr><td><code>${escapeHtml(c.username)}</code></td><td><code>${escapeHtml(c.password)}</code></td><td>${escapeHtml(c.note)}</td></tr>`).join('\n  ')}
</table>`
}

function reauthForm ({ user, staleBecause, next = '', error = null, messages = [] }) {
  const yours = staleBecause === null
    ? 'Yours is fresh already; you may confirm your password anyway'
    : `Yours is not fresh: ${escapeHtml(staleBecause)}. Please confirm your password`
  return `${messageList(messages)}
${error === null ? '' : `<p class="error">${escapeHtml(error)}</p>`}
<p>The page you asked for needs a fresh login: one made with your password in this session.
${yours}, ${escapeHtml(user.name)}.</p>
<form method="post" action="/reauth">
  <input type="hidden" name="next" value="${escapeHtml(next)}">
  <input type="text" name="username" value="${escapeHtml(user.username)}" autocomplete="username" hidden>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required autofocus>
  <p><button type="submit">Confirm</button></p>
</form>`
}

/** A time on the sessions page: UTC, to the second. */
function formatTime (date) {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

const KIND_LABELS = { session: 'browser', remembered: 'browser (remembered)', api: 'API client' }

/**
 * The "Your sessions" page: every live session of the user (newest first),
 * this one marked, the others each with a form that ends it.
 */
function sessionsPage ({ sessions, currentId, error = null, messages = [] }) {
  const rows = sessions.map((s) => {
    const action = s.id === currentId
      ? '<strong>This device</strong>'
      : `<form method="post" action="/sessions/revoke"><input type="hidden" name="id" value="${escapeHtml(s.id)}"><button type="submit">Log out this device</button></form>`
    return `<tr>
    <td>${KIND_LABELS[s.kind]}</td>
    <td>${escapeHtml(formatTime(s.createdAt))}</td>
    <td>${escapeHtml(formatTime(s.lastSeenAt))}</td>
    <td>${s.expiresAt === null ? 'no timeout' : escapeHtml(formatTime(s.expiresAt))}</td>
    <td><code>${escapeHtml(s.ip)}</code></td>
    <td class="agent">${s.userAgent === '' ? '(none sent)' : escapeHtml(s.userAgent)}</td>
    <td>${s.remembered ? 'yes' : 'no'}</td>
    <td>${action}</td>
  </tr>`
  })
  const others = sessions.filter((s) => s.id !== currentId).length
  return `${messageList(messages)}
${error === null ? '' : `<p class="error">${escapeHtml(error)}</p>`}
<p>Every browser or device where you are logged in. A session ends when you log out there, after 30 minutes
without use or 12 hours after the login, or when you end it here.</p>
<div class="wide">
<table>
  <tr><th>Kind</th><th>Logged in</th><th>Last seen</th><th>Expires</th><th>IP address</th><th>Browser (User-Agent)</th><th>Restored by remember-me</th><th></th></tr>
  ${rows.join('\n  ')}
</table>
</div>
${others === 0
    ? '<p>No other device is logged in.</p>'
    : '<form method="post" action="/sessions/revoke-others"><p><button type="submit">Log out all other devices</button></p></form>'}
<p>Logging out a device also ends its “Remember me” cookie. A browser whose session has timed out but whose
remember-me cookie would log it in again is listed as “remembered”; an API client (a login at <code>POST /auth</code>)
as “API”. “Log out everywhere” ends them all.</p>
<form method="post" action="/logout"><input type="hidden" name="everywhere" value="yes"><p><button type="submit">Log out everywhere, this device too</button></p></form>`
}

// ---------------------------------------------------------------------------
// Request helpers
// ---------------------------------------------------------------------------

/** A form or query field as a string; missing, repeated or oversized fields count as empty. */
function field (source, name) {
  const value = source !== null && typeof source === 'object' ? source[name] : undefined
  return typeof value === 'string' && value.length <= MAX_FIELD_LENGTH ? value : ''
}

/** The logged-in user, or null for an anonymous request. */
function userOf (request) {
  return request.isAuthenticated() ? request.currentUser : null
}

/** Flashed messages (from the guards' redirects and from this app), taken out of the session. */
function takeMessages (request, reply) {
  const pending = request.session.get('flash')
  if (pending === undefined || pending === null || Object.keys(pending).length === 0) return []
  return Object.values(reply.flash()).flat()
}

/**
 * CSRF defence for the POST forms.
 *
 * The session and remember cookies are SameSite=Lax, so browsers leave them
 * off cross-site POSTs: another site cannot post to /logout, /settings or
 * /reauth as the user. SameSite does not cover login CSRF, though (a
 * cross-site POST to /login needs no cookie and would log the victim into the
 * attacker's account), so every POST is also refused when the browser says it
 * comes from another site (Sec-Fetch-Site) or another origin (Origin).
 * Clients that send neither header, such as curl, are let through. A larger
 * app would add CSRF tokens, for example with @fastify/csrf-protection.
 */
function crossSitePost (request) {
  const site = request.headers['sec-fetch-site']
  if (site === 'cross-site' || site === 'same-site') return true
  const origin = request.headers.origin
  if (origin === undefined) return false
  try {
    return new URL(origin).host !== new URL(`${request.protocol}://${request.host}`).host
  } catch {
    return true // "null" or garbage
  }
}

/*
 * Why a login is not fresh. The plugin only says whether it is
 * (request.loginFresh()); its events say when freshness was taken away, and
 * the demo records why in the session. A login starts with no reason
 * (reply.login() rotates the session), and so does a confirmed password.
 */
const STALE_REASONS_KEY = 'demoStaleReasons'
const STALE_REASONS = {
  remembered: 'it was restored from the remember-me cookie after the browser session ended',
  moved: 'the session came from another address or browser (session protection)'
}
// No event took freshness away: the password was entered more than freshFor
// ago (the plugin's default, an hour; no event marks that), or the login was
// made with reply.login(user, { fresh: false }) and never had it.
const MADE_NOT_FRESH = 'the password was last entered more than an hour ago (the freshFor option), or the login was made as one that is not fresh (reply.login(user, { fresh: false }))'

function recordStaleReason (request, reason) {
  const reasons = request.session.get(STALE_REASONS_KEY) ?? []
  if (!reasons.includes(reason)) request.session.set(STALE_REASONS_KEY, [...reasons, reason])
}

/** Why the logged-in request's login is not fresh, in words; null when it is fresh. */
function staleBecause (request) {
  if (request.loginFresh()) return null
  const reasons = request.session.get(STALE_REASONS_KEY) ?? []
  return reasons.length === 0 ? MADE_NOT_FRESH : reasons.map((reason) => STALE_REASONS[reason]).join(', and ')
}

/**
 * Errors. A refused request (a guard's 401, a bad token, a body that fails its
 * schema) is not a fault of the server: it gets one short info line, without
 * a stack or anything from the headers or body (no cookie, no token), and the
 * JSON answer Fastify would give. Anything else (5xx, or an error without a
 * 4xx status) goes on to Fastify's own handler, which logs it in full.
 */
function briefRefusals (error, request, reply) {
  const statusCode = error.statusCode
  if (!(statusCode >= 400 && statusCode < 500)) throw error
  if (error.headers !== undefined) reply.headers(error.headers) // the WWW-Authenticate of JWT refusals
  request.log.info({ statusCode, code: error.code, method: request.method, url: request.url }, 'request refused')
  return reply.code(statusCode).send({ statusCode, code: error.code, error: STATUS_CODES[statusCode], message: error.message })
}

// ---------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------

/**
 * Builds the demo app (not listening). `logger` is passed to Fastify.
 * Set SESSION_KEY (32 bytes, base64) and JWT_SECRET (32+ bytes) to replace
 * the development-only key and secret; a malformed one is a DemoConfigError.
 */
export async function buildDemoApp ({ logger } = {}) {
  // Checked first: a bad setting stops the demo before any work is done.
  const sessionKey = sessionKeyFromEnv()
  const jwtSecret = jwtSecretFromEnv()
  const app = Fastify({ logger: logger ?? false })
  // Set first, so that every route, the plugin's included, uses it.
  app.setErrorHandler(briefRefusals)
  const store = await createUserStore()

  if (jwtSecret === DEVELOPMENT_ONLY_JWT_SECRET) {
    app.log.warn('DEVELOPMENT ONLY JWT secret in use: anyone can forge tokens. Set JWT_SECRET before deploying anything.')
  }
  if (sessionKey === DEVELOPMENT_ONLY_SESSION_KEY) {
    app.log.warn('DEVELOPMENT ONLY session key in use: anyone can forge sessions. Set SESSION_KEY before deploying anything.')
  }

  // HTML forms post application/x-www-form-urlencoded.
  await app.register(formbody)

  await app.register(fastifyLogin, {
    // Cookies: the plugin's defaults are kept on purpose (Secure, HttpOnly,
    // SameSite=Lax, for the session and the remember-me cookie alike). This
    // demo runs over plain http://localhost:3000, and that still works
    // because browsers treat http://localhost as a secure context and accept
    // and send Secure cookies there (Chrome since 89, Firefox since 75, Edge;
    // curl since 7.79). Safari does not yet: use another browser, or HTTPS,
    // with it. On any other host, plain HTTP would drop these cookies: serve
    // the app over HTTPS rather than turning Secure off.
    session: { key: sessionKey },
    loadUser: (id) => store.users.get(id) ?? null,
    // The default rule (isActive !== false) would do; spelled out for the reader.
    isUserActive: (user) => user.isActive === true,
    loginUrl: '/login',
    refreshUrl: '/reauth',
    // JWTs for API clients: POST /auth, /auth/refresh and /auth/logout come
    // from the plugin; the same loadUser gives the user of each token.
    jwt: {
      secret: jwtSecret,
      authenticate: (username, password) => store.verify(username, password)
    }
    // sessionProtection stays 'basic': if the address or browser of a
    // session changes, the login stays but is no longer fresh.
  })

  app.loginEvents.on('userLoadedFromCookie', ({ request }) => recordStaleReason(request, 'remembered'))
  app.loginEvents.on('sessionProtected', ({ request }) => recordStaleReason(request, 'moved'))
  app.loginEvents.on('userLoginConfirmed', ({ request }) => request.session.set(STALE_REASONS_KEY, undefined))
  // One info line per ended session, as for refused requests: the user, the
  // reason and the session's public id (a hash: it logs nobody in), nothing
  // from the headers. Ended from the sessions page, there is no request of the
  // session itself: the line goes to the app's log then.
  app.loginEvents.on('sessionEnded', ({ request, userId, session, reason }) => {
    (request ?? app).log.info({ userId, sessionId: session?.id ?? null, reason }, 'session ended')
  })

  // Registered after fastify-login, so its redirects flash "Please log in..."
  // and "Please reauthenticate..." for the login and re-auth pages to show.
  await app.register(flash)

  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'POST' && crossSitePost(request)) {
      return sendPage(reply, 403, 'Forbidden', null, '<p class="error">Cross-site form posts are refused.</p>')
    }
  })

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'same-origin')
    reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return payload
  })

  /**
   * Asks the plugin whether this attempt may test a password. When it is
   * throttled: the form again, with a 429, the Retry-After header and a
   * message saying how long to wait (`formWith(message)` builds the form).
   * Otherwise null.
   */
  async function throttledPage (request, reply, username, formWith, title) {
    try {
      await app.loginThrottle.check(request, username)
      return null
    } catch (err) {
      if (!(err instanceof LoginThrottledError)) throw err // a store failure stays a 503
      const seconds = Number(err.headers['retry-after'])
      reply.header('retry-after', String(seconds))
      const message = `Too many failed attempts for this account or from your network. Wait ${seconds} second${seconds === 1 ? '' : 's'} and try again.`
      return sendPage(reply, 429, title, userOf(request), formWith(message))
    }
  }

  app.get('/', async (request, reply) => {
    const user = userOf(request)
    const status = user === null
      ? '<p>You are not logged in. <a href="/login">Log in</a> with one of the demo accounts.</p>'
      : `<p>Hello, <strong>${escapeHtml(user.name)}</strong> (<code>${escapeHtml(user.username)}</code>).
         Your login is <strong>${request.loginFresh() ? 'fresh' : 'not fresh'}</strong>${request.loginRemembered() ? ', and this browser has a remember-me cookie' : ''}.</p>`
    return sendPage(reply, 200, 'fastify-login demo', user, `${messageList(takeMessages(request, reply))}
${status}
<h2>Things to try</h2>
<ul>
  <li><a href="/account">/account</a> needs a login (<code>loginRequired</code>). Logged out, you are sent to the login page, and back here afterwards.</li>
  <li><a href="/settings">/settings</a> needs a <em>fresh</em> login (<code>freshLoginRequired</code>). Log in with “Remember me”,
      then delete the <code>session</code> cookie in your browser's developer tools (or wait for it to expire):
      you stay logged in through the remember-me cookie, but /settings asks for your password again.</li>
  <li><a href="/sessions">/sessions</a> lists every browser where you are logged in (it needs a fresh login too).
      Log in as the same user from a second browser (or a private window), then log that one out from here.</li>
  <li><a href="/api/me">/api/me</a> is a JSON route with the same guard. A browser that is not logged in is redirected to the login page;
      an API client that asks for JSON gets a 401 JSON error instead:
      <pre>curl -H 'Accept: application/json' http://localhost:3000/api/me</pre></li>
  <li>Type a wrong password five times: the sixth attempt is refused for a second, even with the right password,
      and each further failure doubles the wait (login throttling). Other accounts are not affected.</li>
  <li><code>carol</code> is an inactive account: her password is right, but her login is refused with the same message as a wrong password.</li>
</ul>
<p>The cookies are <code>Secure</code>. Chrome, Firefox and Edge accept such cookies on <code>http://localhost</code>; Safari does not, so use another browser for this demo.</p>`)
  })

  app.get('/login', async (request, reply) => {
    return sendPage(reply, 200, 'Log in', userOf(request), loginForm({
      next: field(request.query, 'next'),
      messages: takeMessages(request, reply)
    }))
  })

  app.post('/login', async (request, reply) => {
    const username = field(request.body, 'username')
    const password = field(request.body, 'password')
    const remember = field(request.body, 'remember') === 'yes'
    // Login throttling, before the password is tested: after 5 failures for
    // one username (or 50 from one address) within 15 minutes, the next
    // attempt waits 1 second, then 2, 4, … up to 15 minutes. The answer is
    // the same for usernames that do not exist.
    const form = (message) => loginForm({ username, next: field(request.body, 'next'), error: message })
    const throttled = await throttledPage(request, reply, username, form, 'Log in')
    if (throttled !== null) return throttled
    const user = await store.verify(username, password)
    // reply.login() refuses an inactive user (it returns false), and that case
    // gets the same answer as a wrong password: the page does not tell which
    // usernames exist or which accounts are disabled.
    if (user !== null && await reply.login(user, { remember })) {
      // nextUrl() takes `next` from the query or the form and returns it only
      // when it is a path on this site; anything else (//evil.com,
      // https://evil.com, /\evil.com, javascript:...) gives the fallback '/'.
      // reply.login() also cleared this username's failures.
      return reply.redirect(request.nextUrl('/'), 302)
    }
    await app.loginThrottle.fail(request, username)
    return sendPage(reply, 401, 'Log in', userOf(request), form('Invalid username or password.'))
  })

  // The form on /sessions adds everywhere=yes: every session of the user ends.
  app.post('/logout', async (request, reply) => {
    await reply.logout({ everywhere: field(request.body, 'everywhere') === 'yes' })
    return reply.redirect('/', 302)
  })

  app.get('/account', { preHandler: app.loginRequired }, async (request, reply) => {
    const user = request.currentUser
    return sendPage(reply, 200, 'Your account', user, `${messageList(takeMessages(request, reply))}
<table>
  <tr><th>Name</th><td>${escapeHtml(user.name)}</td></tr>
  <tr><th>Username</th><td><code>${escapeHtml(user.username)}</code></td></tr>
  <tr><th>Fresh login</th><td>${request.loginFresh() ? 'yes' : `no: ${escapeHtml(staleBecause(request))}`}</td></tr>
  <tr><th>Remember-me cookie</th><td>${request.loginRemembered() ? 'yes' : 'no'}</td></tr>
</table>
<p><a href="/sessions">Your sessions</a>: where else you are logged in, and log those devices out.</p>`)
  })

  app.get('/settings', { preHandler: app.freshLoginRequired }, async (request, reply) => {
    const user = request.currentUser
    return sendPage(reply, 200, 'Settings', user, `${messageList(takeMessages(request, reply))}
<p>A sensitive page: it needs a fresh login, so a stolen remember-me cookie alone cannot reach it.</p>
<form method="post" action="/settings">
  <label for="name">Display name</label>
  <input type="text" id="name" name="name" value="${escapeHtml(user.name)}" maxlength="60" required>
  <p><button type="submit">Save</button></p>
</form>`)
  })

  app.post('/settings', { preHandler: app.freshLoginRequired }, async (request, reply) => {
    const user = request.currentUser
    const name = field(request.body, 'name').trim()
    if (name === '' || name.length > 60) {
      return sendPage(reply, 400, 'Settings', user, '<p class="error">The display name must have 1 to 60 characters.</p><p><a href="/settings">Back</a></p>')
    }
    user.name = name
    request.flash('message', 'Display name saved.')
    return reply.redirect('/settings', 302)
  })

  // Where you are logged in (ASVS 3.3.4). Like /settings it needs a fresh
  // login: someone holding only a stolen cookie cannot see the other devices
  // or log the owner out of them.
  async function sendSessionsPage (request, reply, { statusCode = 200, error = null } = {}) {
    const user = request.currentUser
    return sendPage(reply, statusCode, 'Your sessions', user, sessionsPage({
      sessions: await app.loginSessions.list(user.id),
      currentId: request.loginSession?.id ?? null,
      error,
      messages: takeMessages(request, reply)
    }))
  }

  app.get('/sessions', { preHandler: app.freshLoginRequired }, async (request, reply) => sendSessionsPage(request, reply))

  app.post('/sessions/revoke', { preHandler: app.freshLoginRequired }, async (request, reply) => {
    const id = field(request.body, 'id')
    if (id !== '' && id === request.loginSession?.id) {
      return sendSessionsPage(request, reply, { statusCode: 400, error: 'That is this device: use “Log out” to end this session.' })
    }
    // revoke() answers false for an id of any other shape, and for a session that is not (or no longer) the user's.
    if (id === '' || !await app.loginSessions.revoke(request.currentUser.id, id)) {
      return sendSessionsPage(request, reply, { statusCode: 400, error: 'No other session of yours has that id (it may have ended already): nothing was logged out.' })
    }
    request.flash('message', 'Logged out 1 device.')
    return reply.redirect('/sessions', 303)
  })

  app.post('/sessions/revoke-others', { preHandler: app.freshLoginRequired }, async (request, reply) => {
    const ended = await app.loginSessions.revokeAll(request.currentUser.id, { except: request.loginSession?.id })
    request.flash('message', ended === 0 ? 'No other device was logged in.' : `Logged out ${ended} other device${ended === 1 ? '' : 's'}.`)
    return reply.redirect('/sessions', 303)
  })

  // A stale login posting one of these forms is sent to /reauth, which then
  // goes to `next` with a GET: back to the page, where the form can be sent again.
  for (const url of ['/sessions/revoke', '/sessions/revoke-others']) {
    app.get(url, { preHandler: app.loginRequired }, async (_request, reply) => reply.redirect('/sessions', 302))
  }

  app.get('/reauth', { preHandler: app.loginRequired }, async (request, reply) => {
    return sendPage(reply, 200, 'Confirm your password', request.currentUser, reauthForm({
      user: request.currentUser,
      staleBecause: staleBecause(request),
      next: field(request.query, 'next'),
      messages: takeMessages(request, reply)
    }))
  })

  app.post('/reauth', { preHandler: app.loginRequired }, async (request, reply) => {
    const user = request.currentUser
    const form = (message) => reauthForm({ user, staleBecause: staleBecause(request), next: field(request.body, 'next'), error: message })
    // The same throttle as the login form: a stolen remember-me cookie must
    // not give unlimited guesses at the password for a fresh login.
    const throttled = await throttledPage(request, reply, user.username, form, 'Confirm your password')
    if (throttled !== null) return throttled
    const confirmed = await store.verify(user.username, field(request.body, 'password'))
    if (confirmed !== null && confirmed.id === user.id && await reply.confirmLogin()) {
      await app.loginThrottle.reset(user.username) // the right password: earlier failures no longer count
      return reply.redirect(request.nextUrl('/'), 302) // same safe-`next` rule as the login
    }
    await app.loginThrottle.fail(request, user.username)
    return sendPage(reply, 401, 'Confirm your password', user, form('Wrong password.'))
  })

  // JSON for API clients. Not logged in: a browser (Accept: text/html) is
  // redirected to /login; a client asking for JSON gets 401 JSON.
  app.get('/api/me', { preHandler: app.loginRequired }, async (request) => {
    const { id, username, name } = request.currentUser
    return { id, username, name, fresh: request.loginFresh(), remembered: request.loginRemembered() }
  })

  // JSON for JWT clients (Authorization: Bearer <access token>). Errors are
  // 401s with a WWW-Authenticate header; never a redirect.
  app.get('/api/jwt/me', { preHandler: app.jwtRequired }, async (request) => {
    const { id, username, name } = request.currentUser
    return { id, username, name, fresh: request.jwtClaims.fresh, expiresAt: request.jwtClaims.exp }
  })

  // A sensitive API action: only a fresh token (straight from POST /auth,
  // not from a refresh) may change the display name.
  app.post('/api/jwt/name', {
    preHandler: app.freshJwtRequired,
    schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 60 } } } }
  }, async (request) => {
    request.currentUser.name = request.body.name
    return { name: request.currentUser.name }
  })

  // Either kind of client: a browser session or a JWT. jwtOptional lets a
  // request without a token through (the session user, if any, is already
  // loaded) but refuses a bad token.
  app.get('/api/whoami', { preHandler: app.jwtOptional }, async (request, reply) => {
    if (!request.isAuthenticated()) return reply.code(401).send({ authenticated: false })
    const via = request.jwtClaims === null ? 'session' : 'jwt'
    return { authenticated: true, via, name: request.currentUser.name }
  })

  return app
}

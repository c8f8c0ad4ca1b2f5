import type { CookieSerializeOptions } from '@fastify/cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { JwtOptions } from './jwt.js'
import type { LoginStore } from './store.js'
import type { AnonymousUser, Duration, LoginUser, MaybePromise } from './user.js'
import type { UserCacheOptions } from './user-cache.js'

/** A message, or a function that returns one for the request (localization). */
export type LoginMessage = string | ((request: FastifyRequest) => string)

/** Session-protection modes: see the README. */
export type SessionProtection = 'basic' | 'strong' | false

/** Key material for @fastify/secure-session: a 32-byte key (Buffer or base64), or a list for rotation. */
export type SessionKey = string | Buffer | Array<string | Buffer>

/** Options for the session cookie, when the plugin registers @fastify/secure-session itself. */
export interface SessionOptions {
  /** 32-byte key (Buffer or base64 string); an array rotates keys: the first encrypts, all decrypt. */
  key?: SessionKey
  /** Alternative to `key`: a passphrase of 32+ bytes, stretched with `salt` (16 bytes). */
  secret?: string | Buffer
  salt?: string | Buffer
  /** Cookie name. Default `'__Host-session'`, or `'session'` when the cookie is not secure, has a domain or another path. */
  cookieName?: string
  /** Cookie attributes. Defaults: `path: '/'`, `httpOnly: true`, `sameSite: 'lax'`, `secure: true`. */
  cookie?: CookieSerializeOptions
  /** Server-side lifetime of an unchanged session, in seconds or as a duration string. Default 1 day. */
  expiry?: Duration
}

/** Options for the remember-me cookie. */
export interface RememberMeOptions {
  /** Cookie name. Default `'__Host-remember_token'`, or `'remember_token'` when not secure, with a domain or another path. */
  cookieName?: string
  /**
   * Lifetime, checked by the server from inside the cookie too (and, with a
   * store, from the series record). Default 30 days (ASVS 3.3.2; Flask-Login's is 365).
   */
  duration?: Duration
  /**
   * With a store, every restore replaces the cookie's secret. For this long
   * after a replacement, the secret it replaced still restores the same login
   * (tabs restoring at once; a response that was lost) instead of counting
   * as a stolen cookie. `0` turns the grace off. Default `'30s'`.
   */
  reuseGrace?: Duration | 0
  /** Default `'/'`. */
  path?: string
  domain?: string
  /** Default `true`; `false` is an explicit weakening for plain-HTTP deployments. */
  secure?: boolean
  /** Default `'lax'`. */
  sameSite?: 'lax' | 'strict' | 'none'
  /** Re-issue the cookie, with a new expiry, on every request that carries a valid one. Default false. */
  refreshEachRequest?: boolean
  /**
   * Key(s) for the cookie's encryption: 32+ bytes each; the first encrypts, all decrypt.
   * Default: derived from the session key(s). Required when the app registers the session itself.
   */
  key?: string | Buffer | Array<string | Buffer>
}

/** What the unauthorized / needs-refresh handlers receive. */
export type UnauthorizedHandler = (request: FastifyRequest, reply: FastifyReply) => MaybePromise<unknown>

/** Plugin options. Only one of `loadUser` / `loadUserFromRequest` is required. */
export interface FastifyLoginOptions {
  /** Loads the user stored in the session or the remember cookie, by id. Null or undefined: anonymous. */
  loadUser?: (id: string, request: FastifyRequest) => MaybePromise<LoginUser | null | undefined>
  /** Loads a user from the request itself (API key, custom header). Writes nothing to the session. */
  loadUserFromRequest?: (request: FastifyRequest) => MaybePromise<LoginUser | null | undefined>
  /** The id stored for a user. Default `String(user.id)`. */
  getUserId?: (user: LoginUser) => string
  /** Whether a user may log in. Default `user.isActive !== false`. */
  isUserActive?: (user: LoginUser) => boolean
  /** Builds the value of `currentUser` for anonymous requests. Default: null. */
  anonymousUser?: (request: FastifyRequest) => AnonymousUser
  /**
   * Register @fastify/secure-session with these options; omit to reuse one the app registered;
   * `false` for JWT-only APIs without any session (then `reply.login()` and remember-me are unavailable).
   */
  session?: SessionOptions | false
  /** Which `request[sessionName]` holds the session. Default `'session'`. */
  sessionName?: string
  /** When the app registered the session: its cookie name, for the test helper. Default `'session'`. */
  sessionCookieName?: string
  /** Remember-me cookie options, or `false` to turn remember-me off. */
  rememberMe?: RememberMeOptions | false
  /** Default `'basic'`. */
  sessionProtection?: SessionProtection
  /**
   * Session keys (a cart, a locale) that survive the session rotation done by `reply.login()`. Default
   * `['_csrf']` (@fastify/csrf-protection's secret); a list of your own replaces it, so add `'_csrf'` to keep that too.
   */
  keepSessionKeys?: string[]
  /** Load `request.currentUser` before every handler (default true); routes can opt out with `config.autoLoadUser`. */
  autoLoadUser?: boolean
  /**
   * The app's public origin, like `'https://app.example'`. Required when `loginUrl` or `refreshUrl` is a full URL:
   * `next` then points back to this origin, never to one taken from the request's Host header.
   */
  origin?: string
  /** Where unauthorized browsers are redirected (a path, or a full URL with `origin`). Default: none (401). */
  loginUrl?: string
  /** Where logged-in but not fresh browsers are redirected. Default: none (401). */
  refreshUrl?: string
  /** Keep `next` in the session instead of the login URL's query. Default false. */
  useSessionForNext?: boolean
  /** Name of the query parameter that carries `next`. Default `'next'`. */
  nextParam?: string
  /** Called instead of the default unauthorized flow. Send a reply or throw. */
  unauthorized?: UnauthorizedHandler
  /** Called instead of the default needs-refresh flow. Send a reply or throw. */
  needsRefresh?: UnauthorizedHandler
  /** Messages; `false` flashes nothing. */
  loginMessage?: LoginMessage | false
  loginMessageCategory?: string
  refreshMessage?: LoginMessage | false
  refreshMessageCategory?: string
  /** JWT authentication for API clients; see the README's JWT section. Off unless given. */
  jwt?: JwtOptions
  /**
   * Where login sessions live on the server: default a new `MemoryStore` (one process);
   * a `RedisStore` (`fastify-login/redis`) for several. `false`: stateless cookie sessions,
   * where logout cannot end a copy of the cookie.
   */
  store?: LoginStore | false
  /** A session unused for this long ends. Default `'30m'`; `false` for none. */
  idleTimeout?: Duration | false
  /** A session ends this long after its login, used or not. Default `'12h'`; `false` for none. */
  absoluteTimeout?: Duration | false
  /** `lastSeenAt` is written at most this often (shorter than `idleTimeout`). Default `'1m'`. */
  touchInterval?: Duration
  /** A login stays fresh this long (`freshLoginRequired`). Default `'1h'`; `false`: until marked stale. */
  freshFor?: Duration | false
  /** Milliseconds since the epoch, read wherever the session side needs the time. Default `Date.now`. */
  clock?: () => number
  /**
   * A string that changes when the user's credentials do (the password hash, a counter). Kept
   * hashed with each session; a session whose value no longer matches its user ends.
   */
  authVersion?: (user: LoginUser) => string
  /**
   * Login throttling (ASVS 2.2.1): failed logins are counted per account and per client address
   * in the store, and after too many the next attempts wait, for a delay that doubles with each
   * further failure (a backoff, never a permanent lockout). `POST /auth` uses it by itself; the
   * app's own form calls `fastify.loginThrottle.check()` and `fail()`. On by default; `false`
   * turns it off (`fastify.loginThrottle` then does nothing).
   *
   * @example
   * await app.register(fastifyLogin, { loadUser, loginThrottle: { perAccount: 3, window: '1h' } })
   */
  loginThrottle?: LoginThrottleOptions | false
  /**
   * Decorate `request.isAuthenticated()`. Default: yes, unless a plugin registered before this one
   * (@fastify/passport) already did, which then keeps it. `false` leaves the name to a plugin
   * registered after this one. The guards never read it. See the README, "Migrating from @fastify/passport".
   */
  decorateIsAuthenticated?: boolean
  /**
   * Reuse `loadUser(id)` results in this process for a few seconds (`true`: 1000 users, `'5s'`), so that
   * the requests of one page view load the user once. Off by default. The store is still read on every
   * request; see the README's "User cache" for what may be seen late.
   */
  userCache?: UserCacheOptions | boolean
}

/** The `loginThrottle` option. */
export interface LoginThrottleOptions {
  /** Failures of one account (one username, whether it exists or not) within `window` before the backoff starts. Default 5. */
  perAccount?: number
  /** Failures from one client address (`request.ip`) within `window` before the backoff starts. Default 50. */
  perAddress?: number
  /** How long failures count, from the first one (a fixed window). Default `'15m'`. */
  window?: Duration
  /** The longest delay: the backoff doubles from 1 second up to this. Default `'15m'`. */
  maxDelay?: Duration
}

/** Options of `reply.login()`. */
export interface LoginOptions {
  /** Also set the remember-me cookie. Default false. */
  remember?: boolean
  /** Remember-me lifetime for this login (overrides `rememberMe.duration`). */
  duration?: Duration
  /** Mark the login fresh. Default true. */
  fresh?: boolean
  /** Log in even an inactive user. Default false. */
  force?: boolean
}

/** Options of `reply.logout()`. */
export interface LogoutOptions {
  /** Delete the whole session, not only the login keys. Default false. */
  destroySession?: boolean
  /** End every session of this user, on every device (needs a store). Default false. */
  everywhere?: boolean
}

/** The options form of `request.nextUrl()`. */
export interface NextUrlOptions {
  /**
   * The `next` value to use instead of the request's own (query string, body or session): one the app
   * read itself, from a multipart stream for instance. A string, or a multipart field object (`{ type:
   * 'field', value }`); it goes through the same open-redirect check.
   */
  next?: unknown
  /** The target when there is no safe `next`. Default `'/'`. */
  fallback?: string
}

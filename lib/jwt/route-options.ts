import type { RouteShorthandOptions } from 'fastify'
import { fail, objectOption, onlyKnownKeys } from '../internal/option-checks.js'
import type { JwtEndpointOptions } from '../types/index.js'

/*
 * `jwt.routes`: what an app may add to the plugin's endpoints (token,
 * refresh, logout, revoke), so that @fastify/rate-limit (`config.rateLimit`),
 * @fastify/swagger (tags, summary, ...) and the app's own hooks reach them.
 * What the plugin relies on cannot be taken away: its guard and body checks
 * stay, and run before the app's hooks of the same name; the body schema is
 * ours; `config.autoLoadUser` stays false.
 */

export type EndpointName = 'auth' | 'refresh' | 'logout' | 'revoke'

export const HOOKS = [
  'onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse', 'onError', 'onTimeout', 'onRequestAbort'
] as const
type HookName = typeof HOOKS[number]

const ENDPOINT_KEYS = [...HOOKS, 'config', 'schema', 'logLevel'] as const
const SCHEMA_KEYS = ['tags', 'summary', 'description', 'security', 'operationId', 'deprecated', 'hide', 'externalDocs', 'response'] as const
// What validates the request: the plugin's own rules for its endpoints.
const OWN_SCHEMA_KEYS = new Set(['body', 'querystring', 'query', 'params', 'headers'])
const STATUS = /^(?:[1-5](?:\d\d|xx)|default)$/

/** One endpoint's validated options (the app's part only). */
export type EndpointSettings = JwtEndpointOptions

function hookList (value: unknown, name: string): void {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0 || !list.every((hook) => typeof hook === 'function')) fail(`${name} must be a function or an array of functions`)
}

function schemaOption (value: unknown, name: string): void {
  const schema = objectOption(value, name)
  for (const key of Object.keys(schema)) {
    if (OWN_SCHEMA_KEYS.has(key)) fail(`${name}.${key} cannot be set: the endpoint validates its request itself`)
  }
  // `x-` keys are OpenAPI extensions, passed on to @fastify/swagger as they are.
  onlyKnownKeys(Object.fromEntries(Object.entries(schema).filter(([key]) => !key.startsWith('x-'))), SCHEMA_KEYS, name)
  const { tags, summary, description, operationId, security, response } = schema
  if (tags !== undefined && !(Array.isArray(tags) && tags.every((tag) => typeof tag === 'string'))) fail(`${name}.tags must be an array of strings`)
  for (const [key, text] of Object.entries({ summary, description, operationId })) {
    if (text !== undefined && typeof text !== 'string') fail(`${name}.${key} must be a string`)
  }
  if (security !== undefined && !(Array.isArray(security) && security.every((item) => item !== null && typeof item === 'object' && !Array.isArray(item)))) {
    fail(`${name}.security must be an array of security requirement objects`)
  }
  if (response !== undefined) {
    for (const [code, entry] of Object.entries(objectOption(response, `${name}.response`))) {
      if (!STATUS.test(code)) fail(`${name}.response.${code} is not a status code (200, 4xx, default)`)
      objectOption(entry, `${name}.response.${code}`)
    }
  }
}

function endpointOption (value: unknown, name: string): EndpointSettings {
  const options = objectOption(value, name)
  onlyKnownKeys(options, ENDPOINT_KEYS, name)
  for (const hook of HOOKS) {
    if (options[hook] !== undefined) hookList(options[hook], `${name}.${hook}`)
  }
  if (options.config !== undefined) {
    const config = objectOption(options.config, `${name}.config`)
    // The endpoints find their user themselves (credentials or a token): a session load would be wasted, or wrong.
    if ('autoLoadUser' in config) fail(`${name}.config.autoLoadUser cannot be set: the endpoint loads its user itself`)
  }
  if (options.schema !== undefined) schemaOption(options.schema, `${name}.schema`)
  if (options.logLevel !== undefined && typeof options.logLevel !== 'string') fail(`${name}.logLevel must be a string`)
  return options as EndpointSettings
}

/** Validates `jwt.routes`; `enabled` says which endpoints exist (options for a disabled one are refused). */
export function routesOption (value: unknown, enabled: Record<EndpointName, boolean>): Partial<Record<EndpointName, EndpointSettings>> {
  if (value === undefined) return {}
  const routes = objectOption(value, 'jwt.routes')
  const names = Object.keys(enabled) as EndpointName[]
  onlyKnownKeys(routes, names, 'jwt.routes')
  const settings: Partial<Record<EndpointName, EndpointSettings>> = {}
  for (const name of names) {
    if (routes[name] === undefined) continue
    if (!enabled[name]) fail(`jwt.routes.${name} is set but its endpoint is disabled (its path is false)`)
    settings[name] = endpointOption(routes[name], `jwt.routes.${name}`)
  }
  return settings
}

type Hooks = Partial<Record<HookName, unknown>>

/**
 * The route options of an endpoint: ours with the app's added. Hooks: ours
 * first, then the app's (a hook of the app cannot run before our guard, nor
 * remove it). Config: the app's with ours over it. Schema: the app's
 * documentation (its `security` over ours), our validation; response
 * schemas by status, the app's replacing ours for a status both give.
 */
export function mergeRouteOptions (ours: RouteShorthandOptions & Hooks, theirs: EndpointSettings | undefined): RouteShorthandOptions {
  if (theirs === undefined) return ours
  const merged: Record<string, unknown> = { ...ours }
  for (const hook of HOOKS) {
    const mine = (ours as Hooks)[hook]
    const added = theirs[hook]
    if (added === undefined) continue
    merged[hook] = [...(mine === undefined ? [] : [mine].flat()), ...[added].flat()]
  }
  merged.config = { ...theirs.config, ...ours.config }
  if (theirs.schema !== undefined) {
    // Every endpoint has a schema of ours (its responses at least).
    const schema = ours.schema as Record<string, unknown>
    const response = { ...(schema.response as object | undefined), ...theirs.schema.response }
    // The app's keys cannot be validation keys (routesOption refused them): its documentation, security included, wins.
    merged.schema = { ...schema, ...theirs.schema, response }
  }
  if (theirs.logLevel !== undefined) merged.logLevel = theirs.logLevel
  return merged as RouteShorthandOptions
}

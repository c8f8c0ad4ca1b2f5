import type { FastifyInstance, RouteOptions } from 'fastify'
import { guardName } from '../guards/exports.js'
import { both, MARKER, OWN_MARKER, type GuardExpression } from './marker.js'

/*
 * Each route declared after the plugin is marked with the guards that
 * protect it (lib/openapi/marker.ts), found in its request hooks: the
 * plugin's guards (decorators or the exported functions) and @fastify/auth
 * compositions of them. A route that gives its own `schema.security` is
 * left as it is.
 */

const HOOK_NAMES = ['onRequest', 'preParsing', 'preValidation', 'preHandler'] as const

/** What each function made by `fastify.auth([...])` checks, recorded as it is made. */
const composed = new WeakMap<object, GuardExpression>()

function expressionOf (hook: unknown): GuardExpression | undefined {
  const name = guardName(hook)
  if (name !== undefined) return [[name]]
  return typeof hook === 'function' ? composed.get(hook) : undefined
}

/** The guards of `route`'s request hooks, all of which must pass; undefined when it has none of ours. */
export function guardsOfRoute (route: Pick<RouteOptions, typeof HOOK_NAMES[number]>): GuardExpression | undefined {
  let expression: GuardExpression | undefined
  for (const hookName of HOOK_NAMES) {
    const value: unknown = route[hookName]
    for (const hook of Array.isArray(value) ? value : [value]) {
      const found = expressionOf(hook)
      if (found !== undefined) expression = expression === undefined ? found : both(expression, found)
    }
  }
  return expression
}

function namesOurs (security: unknown, schemes: ReadonlySet<string>): boolean {
  return Array.isArray(security) && security.some((requirement) =>
    requirement !== null && typeof requirement === 'object' && Object.keys(requirement).some((name) => schemes.has(name)))
}

/** Adds the markers to routes declared from now on in `fastify` and its children; `schemes` are the names of ours. */
export function markGuardedRoutes (fastify: FastifyInstance, schemes: ReadonlySet<string>): void {
  fastify.addHook('onRoute', function openapiGuards (route) {
    const schema = route.schema as Record<string, unknown> | undefined
    // New schema objects: an app may share one schema between routes with different guards.
    // Before the marker check: the plugin's refresh endpoint comes marked, and its `security` (jwt.routes) may name ours too.
    if (schema?.security !== undefined) {
      if (!namesOurs(schema.security, schemes)) return
      const { security, ...rest } = schema
      route.schema = { ...rest, [OWN_MARKER]: security } as RouteOptions['schema']
      return
    }
    if (schema?.[MARKER] !== undefined) return
    const expression = guardsOfRoute(route)
    if (expression !== undefined) route.schema = { ...schema, [MARKER]: expression } as RouteOptions['schema']
  })
}

type AuthFunction = (functions: unknown[], options?: { relation?: string }) => unknown

/**
 * With @fastify/auth registered before the plugin, `fastify.auth([...])`
 * is wrapped to record which of our guards the function it makes combines
 * (`relation` 'or' by default: any one; 'and': all). The function made is
 * @fastify/auth's own, unchanged: only the record is added.
 */
export function recordAuthCompositions (fastify: FastifyInstance): void {
  const target = fastify as unknown as { auth?: AuthFunction }
  const original = target.auth
  if (typeof original !== 'function') return
  target.auth = function auth (this: unknown, functions, options) {
    // Read before @fastify/auth binds the functions in place (bound copies lose their identity).
    const groups = Array.isArray(functions)
      ? functions.map((item) => (Array.isArray(item) ? item : [item]).map(expressionOf))
      : []
    const made = original.call(this, functions, options)
    const expression = combine(groups, options?.relation)
    if (expression !== undefined && typeof made === 'function') composed.set(made, expression)
    return made
  }
}

/**
 * The expression of an @fastify/auth list. With 'or' (its default; an app
 * that set `defaultRelation: 'and'` passes `relation` to be documented right)
 * any item is enough, an item being a sub-array whose functions must all
 * pass: an item with a function of the app's own cannot be described, so
 * neither can the list. With 'and' our guards must pass whatever else does.
 */
function combine (groups: Array<Array<GuardExpression | undefined>>, relation: string | undefined): GuardExpression | undefined {
  const all = (items: Array<GuardExpression | undefined>): GuardExpression => (items as GuardExpression[]).reduce(both, [[]])
  if (relation === 'and') {
    const ours = groups.flat().filter((item) => item !== undefined)
    return ours.length === 0 ? undefined : all(ours)
  }
  if (groups.length === 0 || groups.some((group) => group.some((item) => item === undefined))) return undefined
  return groups.flatMap(all)
}

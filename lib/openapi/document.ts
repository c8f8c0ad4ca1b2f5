import type { FastifyInstance } from 'fastify'
import { MARKER, OWN_MARKER, type GuardExpression } from './marker.js'
import { swagger2Schemes, type OpenapiSecurity, type SecurityRequirement } from './schemes.js'

/*
 * @fastify/swagger has no way for another plugin to add security schemes
 * (they come from its own `openapi.components` option, read when it
 * registers), so once the app is ready the plugin wraps the `swagger()`
 * decorator of its scope: the document it returns gets our schemes (those
 * the app did not name itself) and each marked operation its `security`.
 * Apps that build the document otherwise (another decorator name, their own
 * `transformObject`) call `fastify.loginOpenapi(document)` themselves.
 */

type Operation = Record<string, unknown>

/** Adds the schemes and turns the markers of `document` (an OpenAPI 3 or Swagger 2 object) into `security`; returns it. */
export function applySecurity (document: unknown, security: OpenapiSecurity): unknown {
  if (document === null || typeof document !== 'object') return document
  const doc = document as { swagger?: unknown, securityDefinitions?: Record<string, unknown>, components?: Record<string, unknown>, paths?: Record<string, Record<string, unknown>> }
  const swagger2 = doc.swagger !== undefined
  const schemes = swagger2 ? swagger2Schemes(security.schemes) : security.schemes
  const usable = (requirement: SecurityRequirement): boolean => Object.keys(requirement).every((name) => name in schemes)
  let marked = false
  for (const path of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(path ?? {})) {
      if (operation === null || typeof operation !== 'object') continue
      const op = operation as Operation
      if (OWN_MARKER in op) {
        marked = true
        op.security = op[OWN_MARKER]
        delete op[OWN_MARKER]
      }
      if (!(MARKER in op)) continue
      marked = true
      const requirements = security.requirements(op[MARKER] as GuardExpression).filter(usable)
      // A `transform` of the app may have set one; none that can be met (a session guard without sessions) is no security to claim.
      if (op.security === undefined && requirements.length > 0) op.security = requirements
      delete op[MARKER]
    }
  }
  if (marked) {
    const target = (swagger2 ? doc.securityDefinitions ??= {} : (doc.components ??= {}).securitySchemes ??= {}) as Record<string, unknown>
    for (const [name, scheme] of Object.entries(schemes)) target[name] ??= scheme
  }
  return document
}

type SwaggerFunction = (options?: { yaml?: boolean }) => unknown

/**
 * The scope that defines the `swagger` decorator, which `fastify` sees:
 * Fastify scopes inherit their parents' decorators through the prototype chain.
 */
function swaggerOwner (fastify: FastifyInstance): { swagger: SwaggerFunction } {
  let scope: object = fastify
  while (!Object.hasOwn(scope, 'swagger')) scope = Object.getPrototypeOf(scope) as object
  return scope as { swagger: SwaggerFunction }
}

/**
 * Wraps `swagger()` once the app is ready, if @fastify/swagger is visible
 * in this scope, where the decorator is defined: with @fastify/swagger at
 * the root and the plugin in a prefixed scope, the root's document (the one
 * @fastify/swagger-ui at the root serves) holds our marked routes too, and
 * wrapping only our scope's copy would leave it with the markers and
 * without the `security` that routes gave themselves.
 */
export function wrapSwagger (fastify: FastifyInstance, security: OpenapiSecurity): void {
  fastify.addHook('onReady', function openapiSecuritySchemes (done) {
    const original = (fastify as unknown as { swagger?: unknown }).swagger
    if (typeof original === 'function') {
      const target = swaggerOwner(fastify)
      target.swagger = function swagger (this: unknown, options) {
        const document = applySecurity(original.call(this), security)
        // JSON is YAML (1.2): the document with our additions, without a YAML library here.
        return options?.yaml === true ? JSON.stringify(document, null, 2) : document
      }
    }
    done()
  })
}

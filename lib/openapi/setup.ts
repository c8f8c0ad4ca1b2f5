import type { FastifyInstance } from 'fastify'
import type { JwtSettings } from '../jwt/options.js'
import type { Settings } from '../settings.js'
import { applySecurity, wrapSwagger } from './document.js'
import { markGuardedRoutes, recordAuthCompositions } from './routes.js'
import { openapiSecurity } from './schemes.js'

/**
 * The OpenAPI side of the plugin (@fastify/swagger): marks guarded routes,
 * records @fastify/auth compositions, and completes the document with the
 * security schemes. Runs before the plugin declares its own endpoints, so
 * they are marked too.
 */
export function setupOpenapi (fastify: FastifyInstance, core: Settings, jwt: JwtSettings | null): void {
  const security = openapiSecurity(core, jwt, fastify.prefix)
  markGuardedRoutes(fastify, new Set(Object.keys(security.schemes)))
  recordAuthCompositions(fastify)
  wrapSwagger(fastify, security)
  fastify.decorate('loginOpenapi', (document: unknown) => applySecurity(document, security))
}

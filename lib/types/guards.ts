import type { FastifyReply, FastifyRequest } from 'fastify'

/** Fastify's hook callback. */
export type HookDone = (err?: Error) => void

/**
 * A session guard: a preHandler (or any request hook), an @fastify/auth
 * function, or awaited from app code: `await loginRequired(request, reply)`.
 */
export interface Guard {
  /** Awaited: resolves when the request passes (or with the reply the unauthorized flow sent), rejects with the 401 otherwise. */
  (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>
  /** As a hook: calls `done` when the request passes at once, else returns a promise. */
  (request: FastifyRequest, reply: FastifyReply, done: HookDone): Promise<FastifyReply | undefined> | undefined
}

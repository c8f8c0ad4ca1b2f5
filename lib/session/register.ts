import secureSession from '@fastify/secure-session'
import type { FastifyInstance } from 'fastify'
import { InvalidOptionError } from '../errors.js'
import type { Settings } from '../settings.js'
import type { FastifyLoginOptions } from '../types/index.js'
import { secureSessionOptions } from './options.js'

/**
 * Registers @fastify/secure-session with the `session` options, or checks
 * that the app registered one itself when `session` is omitted. Two session
 * plugins would each write a cookie, and only one of them would hold the login.
 */
export async function registerSession (fastify: FastifyInstance, options: FastifyLoginOptions, settings: Settings): Promise<void> {
  if (options.session === false) return
  const present = fastify.hasPlugin('@fastify/secure-session')
  if (options.session === undefined) {
    if (!present) throw new InvalidOptionError('give `session` options, or register @fastify/secure-session before this plugin')
    return
  }
  if (present) throw new InvalidOptionError('`session` is given but @fastify/secure-session is already registered: drop `session` to use that one')
  await fastify.register(secureSession, secureSessionOptions(options.session, settings.sessionName) as never)
}

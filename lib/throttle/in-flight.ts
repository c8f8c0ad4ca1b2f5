import type { FastifyRequest } from 'fastify'
import { peekRequestState, requestState } from '../internal/request-state.js'

/*
 * Login attempts in flight, per client address, in this process. An
 * address's failures are counted once its passwords have been tested, so a
 * burst of guesses sent at once over many usernames (password spraying)
 * would all be tested before the first of them fails. So no more than
 * `perAddress` attempts of one address may be between check() and their
 * end at once: the rest are refused untested. A person at a login form has
 * one attempt in flight; an office behind one address, a few.
 *
 * Kept in memory, not in the store: the count must go down again when an
 * attempt ends, which the store's counters cannot do, and a burst is one
 * client's requests arriving together. With several processes each caps
 * its own share (the failures, in the store, still add up across them).
 */

const inFlight = new Map<string, number>()

/** Takes a place for the request's attempt; false when `limit` attempts of its address are in flight already. */
export function enterAttempt (request: FastifyRequest, address: string, limit: number): boolean {
  const current = inFlight.get(address) ?? 0
  if (current >= limit) return false
  inFlight.set(address, current + 1)
  requestState(request).throttleAddress = address
  return true
}

/** The request's attempt has ended (it failed, it logged in, or the response went out): its place is given back, once. */
export function leaveAttempt (request: FastifyRequest): void {
  const state = peekRequestState(request)
  const address = state?.throttleAddress ?? null
  if (state === null || address === null) return
  state.throttleAddress = null
  const current = inFlight.get(address) ?? 1
  if (current <= 1) inFlight.delete(address)
  else inFlight.set(address, current - 1)
}

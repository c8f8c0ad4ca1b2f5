import { FORM_TYPE } from './bodies.js'
import { MAX_FIELD_LENGTH, MAX_TOKEN_LENGTH } from './grants.js'

/*
 * The endpoints' schemas: request bodies (validated; the form ones are
 * checked before by lib/jwt/grants.ts, so they document more than they
 * refuse) and responses, for @fastify/swagger. The token response allows
 * more properties: what `authResponse` adds must reach the client, and a
 * response schema without it would have fast-json-stringify drop it. No
 * `required` either: `authResponse` may shape the body as it likes.
 */

const field = { type: 'string', minLength: 1, maxLength: MAX_FIELD_LENGTH }
const ignored = { type: 'string', description: 'Accepted and ignored' }

export function authBody (usernameField: string, passwordField: string): Record<string, unknown> {
  return {
    content: {
      'application/json': {
        schema: { type: 'object', required: [usernameField, passwordField], properties: { [usernameField]: field, [passwordField]: field } }
      },
      [FORM_TYPE]: {
        schema: {
          type: 'object',
          description: 'OAuth 2.0 resource owner password grant (RFC 6749 §4.3.2)',
          required: ['grant_type', 'username', 'password'],
          properties: { grant_type: { type: 'string', enum: ['password'] }, username: field, password: field, scope: ignored, client_id: ignored, client_secret: ignored }
        }
      }
    }
  }
}

export const refreshBody = {
  content: {
    [FORM_TYPE]: {
      schema: {
        type: 'object',
        description: 'OAuth 2.0 refresh grant (RFC 6749 §6); without a body, the refresh token is taken from the Authorization header or cookie',
        required: ['grant_type', 'refresh_token'],
        properties: { grant_type: { type: 'string', enum: ['refresh_token'] }, refresh_token: { type: 'string', minLength: 1, maxLength: MAX_TOKEN_LENGTH }, scope: ignored, client_id: ignored }
      }
    }
  }
}

const tokenResponse = {
  description: 'The token response (RFC 6749 §5.1), as shaped by authResponse',
  type: 'object',
  additionalProperties: true,
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string' },
    expires_in: { type: 'integer', description: 'Seconds until the access token expires' },
    refresh_token: { type: 'string' }
  }
}

const errorResponse = {
  description: 'A refusal: the plugin\'s error ({ statusCode, code, error, message }) for JSON requests, RFC 6749 §5.2 ({ error, error_description }) for forms',
  type: 'object',
  additionalProperties: true,
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
    error_description: { type: 'string' }
  }
}

export const tokenResponses = { 200: tokenResponse, '4xx': errorResponse }
export const logoutResponses = { 204: { description: 'Logged out', type: 'null' }, '4xx': errorResponse }
export const revokeResponses = { 200: { description: 'Revoked, or not a token of ours (RFC 7009 §2.2)', type: 'null' }, '4xx': errorResponse }

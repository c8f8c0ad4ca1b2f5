// Types of demo/app.mjs, for test/demo.test.ts.
import type { FastifyInstance, FastifyServerOptions } from 'fastify'

export interface DemoAppOptions {
  /** Passed to Fastify; default false. */
  logger?: FastifyServerOptions['logger']
}

export interface DemoCredential {
  readonly username: string
  readonly password: string
  readonly note: string
}

/** The demo accounts and their passwords (the app itself keeps only hashes). */
export declare const DEMO_CREDENTIALS: readonly DemoCredential[]

/** Builds the demo app, not listening. */
export declare function buildDemoApp (options?: DemoAppOptions): Promise<FastifyInstance>

/** A setting from the environment the demo cannot start with (SESSION_KEY, JWT_SECRET); its message is one line. */
export declare class DemoConfigError extends Error {
  readonly code: 'DEMO_INVALID_CONFIG'
}

/** The URL to open in a browser for a demo listening on `host`:`port`. */
export declare function browserUrl (host: string, port: number): string

/** Whether `host` is a loopback bind, reachable from this machine only. */
export declare function isLoopback (host: string): boolean

// Types of scripts/no-any.mjs, for test/no-any-check.test.ts.

/** `file:line:column` of every `any` type in the .d.ts files under `dir`. */
export declare function anyTypesIn (dir: string): string[]

// Finds `any` types in declaration files with the TypeScript parser, so that
// the word in a comment or a string is not a hit: only an AnyKeyword node is.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'

/** `file:line:column` of every `any` type in the .d.ts files under `dir`. */
export function anyTypesIn (dir) {
  const found = []
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.d.ts')).sort()
  for (const file of files) {
    const path = join(dir, file)
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true)
    const visit = (node) => {
      if (node.kind === ts.SyntaxKind.AnyKeyword) {
        const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source))
        found.push(`${path}:${line + 1}:${character + 1}`)
      }
      ts.forEachChild(node, visit)
    }
    visit(source)
  }
  return found
}

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { stripTypeScriptTypes } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const SOURCES = new URL('.', import.meta.url)
const LOCAL_IMPORT = /(\bfrom\s*|\bimport\s*\(?\s*)(['"])\.\/([A-Za-z0-9_]+)\.ts\2/g
const OTHER_IMPORT = /\bfrom\s*['"](?!node:|\.\/)/

/**
 * Writes the WASI worker's modules (worker.ts and what it imports from this folder) into `dir` as
 * plain JavaScript, types stripped here by Node's own stripper, and answers the entry's URL. A
 * worker started on TypeScript loads that stripper (amaro, swc built to WebAssembly) into its own
 * isolate: started on worker.ts, a worker took about 46 MB, on JavaScript 20 MB, and a provider
 * runs one per core. Stripping keeps every line and column, so stack traces still point into the
 * sources. The worker may import Node's modules and its own folder only.
 */
export function writeWorkerScript (dir: string): URL {
  mkdirSync(dir, { recursive: true })
  const pending = ['worker.ts']
  const written = new Set<string>()
  while (pending.length > 0) {
    const name = pending.pop()!
    if (written.has(name)) continue
    written.add(name)
    const js = stripTypeScriptTypes(readFileSync(new URL(name, SOURCES), 'utf8')).replace(LOCAL_IMPORT, (_, lead: string, quote: string, base: string) => {
      pending.push(`${base}.ts`)
      return `${lead}${quote}./${base}.mjs${quote}`
    })
    if (OTHER_IMPORT.test(js)) throw new Error(`${name}: the WASI worker may import node: modules and its own folder only`)
    writeFileSync(join(dir, name.replace(/\.ts$/, '.mjs')), js)
  }
  return pathToFileURL(join(dir, 'worker.mjs'))
}

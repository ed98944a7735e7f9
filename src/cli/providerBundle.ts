import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type * as Esbuild from 'esbuild'

/**
 * A provider runs from one minified file of its code instead of ~2,900 modules (issue 16): the
 * provider is what people leave running, and V8 keeps every loaded module's source and records.
 * Measured on 2026-12-07 (a provider from the bundle beside one from the sources in a local grid,
 * 4,000 trivial WASI tasks, three runs): idle 145–158 MB against 177–181, at the peak 193–203 MB
 * against 220–228 (README, Benchmarks, has the runs). The bundle is built by esbuild
 * from src/cli/main.ts into build/provider/main.mjs, again whenever one of its inputs changed (their
 * sizes and times are kept beside it); where it cannot be built, a provider runs from the sources.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface BundleTarget {
  readonly entry: string
  readonly outfile: string
}

export const PROVIDER_BUNDLE: BundleTarget = { entry: join(ROOT, 'src', 'cli', 'main.ts'), outfile: join(ROOT, 'build', 'provider', 'main.mjs') }

/** Changes when the build's settings do, so that a bundle built under older ones is rebuilt. */
const BUILD_VERSION = '2'

/**
 * Loaded from node_modules where they are: native bindings, and what a provider loads only for
 * the dev chain, the SDK's compiler, the web build or a GPU (each on demand).
 */
const EXTERNAL = ['webgpu', 'solc', 'hardhat', '@nomicfoundation/*', 'assemblyscript', 'vite', 'playwright-core', '@foundry-rs/*', 'node-datachannel', '@node-datachannel/*', 'esbuild']

/** Modules find files beside their sources (the WASI worker's, the GPU process): each keeps its own URL in the bundle. */
const OWN_LOCATION = /\bimport\.meta\.(url|dirname|filename)\b/g

/** The bundle's path, built first if it is missing or older than an input; undefined when it cannot be built. */
export async function freshBundle (target: BundleTarget = PROVIDER_BUNDLE): Promise<string | undefined> {
  const record = `${target.outfile}.inputs.json`
  try {
    const { key, inputs } = JSON.parse(readFileSync(record, 'utf8')) as { key: string, inputs: string[] }
    statSync(target.outfile)
    if (key === signatureOf(dirname(target.entry), inputs)) return target.outfile
  } catch {
    // No bundle yet, or an input is gone: build it.
  }
  try {
    return await build(target, record)
  } catch {
    return undefined
  }
}

async function build (target: BundleTarget, record: string): Promise<string> {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof Esbuild
  const base = dirname(target.entry)
  const partial = `${target.outfile}.${process.pid}.tmp`
  mkdirSync(dirname(target.outfile), { recursive: true })
  const { metafile } = await esbuild.build({
    entryPoints: [target.entry],
    outfile: partial,
    absWorkingDir: base,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    keepNames: true,
    // The bundled packages' licence comments go beside it (main.mjs.LEGAL.txt): one of them is not
    // ASCII, and a source that is not makes V8 keep the whole 4.3 MB text in two bytes a character.
    legalComments: 'external',
    metafile: true,
    logLevel: 'silent',
    external: EXTERNAL,
    // Bundled CommonJS modules call require for Node's own modules.
    banner: { js: 'import { createRequire as __conunRequire } from "node:module"; const require = __conunRequire(import.meta.url);' },
    plugins: [keepOwnLocation],
  })
  const inputs = Object.keys(metafile.inputs).filter(input => !input.includes(':'))
  if (existsSync(`${partial}.LEGAL.txt`)) renameSync(`${partial}.LEGAL.txt`, `${target.outfile}.LEGAL.txt`)
  renameSync(partial, target.outfile)
  writeFileSync(`${record}.${process.pid}.tmp`, JSON.stringify({ key: signatureOf(base, inputs), inputs }))
  renameSync(`${record}.${process.pid}.tmp`, record)
  return target.outfile
}

/** Rewrites import.meta.url (and dirname, filename) in each module to the module's own location. */
const keepOwnLocation: Esbuild.Plugin = {
  name: 'keep-own-location',
  setup (build) {
    build.onLoad({ filter: /\.(ts|m?js)$/ }, ({ path }) => {
      const source = readFileSync(path, 'utf8')
      if (!source.includes('import.meta.')) return undefined
      const own = { url: pathToFileURL(path).href, dirname: dirname(path), filename: path }
      const contents = source.replace(OWN_LOCATION, (_, what: keyof typeof own) => JSON.stringify(own[what]))
      return { contents, loader: path.endsWith('.ts') ? 'ts' : 'js' }
    })
  },
}

/** The inputs' paths, sizes and times, hashed with the build's version. */
function signatureOf (base: string, inputs: readonly string[]): string {
  const hash = createHash('sha256').update(BUILD_VERSION)
  for (const input of inputs) {
    const stats = statSync(resolve(base, input))
    hash.update(`${relative(base, resolve(base, input))}:${stats.size}:${stats.mtimeMs}\n`)
  }
  return hash.digest('hex')
}

/**
 * Compiles every examples/<example>/assembly/<name>.ts (AssemblyScript) to build/examples/<name>.wasm,
 * a WASI preview-1 module, with the AssemblyScript compiler from node_modules: no C toolchain needed.
 * examples/lib/assembly holds what the modules share (imported as ../../lib/assembly/<file>).
 * A module is skipped when its .wasm is newer than every source file in its assembly folder and the
 * library, and than the compiler settings (src/sdk/assemblyScriptModule.ts).
 *
 *   node scripts/build-examples.ts [--force]
 */
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileAssemblyScript } from '../src/sdk/index.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const EXAMPLES_DIR = join(ROOT, 'examples')
/** Where the built modules go; job files refer to them as ../../build/examples/<name>.wasm. */
export const EXAMPLES_BUILD_DIR = join(ROOT, 'build', 'examples')
/** Code the modules share, compiled into those that import it; never a module of its own. */
const LIBRARY_DIR = join(EXAMPLES_DIR, 'lib', 'assembly')
/** Where the compiler's flags are set: a module built before they changed is out of date. */
const COMPILER_SETTINGS = join(ROOT, 'src', 'sdk', 'assemblyScriptModule.ts')

export interface BuildExamplesOptions {
  /** Recompile even when the .wasm is up to date. */
  readonly force?: boolean
  /** Receives one line per module; defaults to console.log. */
  readonly log?: (line: string) => void
}

interface ExampleSource {
  readonly name: string
  readonly entry: string
  /** Every .ts in the same assembly folder and in the library (an entry may import them), and the compiler settings. */
  readonly sources: readonly string[]
  readonly wasm: string
}

async function isDirectory (path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

async function mtimeMs (path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs
  } catch {
    return undefined
  }
}

async function assemblyFiles (dir: string): Promise<string[]> {
  if (!await isDirectory(dir)) return []
  return (await readdir(dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort().map((f) => join(dir, f))
}

async function findSources (): Promise<ExampleSource[]> {
  const found: ExampleSource[] = []
  const library = await assemblyFiles(LIBRARY_DIR)
  const examples = (await readdir(EXAMPLES_DIR, { withFileTypes: true })).filter((d) => d.isDirectory() && d.name !== 'lib').map((d) => d.name).sort()
  for (const example of examples) {
    const files = await assemblyFiles(join(EXAMPLES_DIR, example, 'assembly'))
    for (const entry of files) {
      const name = basename(entry, '.ts')
      const clash = found.find((s) => s.name === name)
      if (clash !== undefined) {
        throw new Error(`two example modules are called ${name}: ${relative(ROOT, clash.entry)} and ${relative(ROOT, entry)}`)
      }
      found.push({ name, entry, sources: [...files, ...library, COMPILER_SETTINGS], wasm: join(EXAMPLES_BUILD_DIR, `${name}.wasm`) })
    }
  }
  return found
}

async function isUpToDate (source: ExampleSource): Promise<boolean> {
  const built = await mtimeMs(source.wasm)
  if (built === undefined) return false
  for (const file of source.sources) {
    const changed = await mtimeMs(file)
    if (changed === undefined || changed >= built) return false
  }
  return true
}

/** The same compile as the SDK's for AssemblyScript modules, with messages relative to the repository. */
async function compile (source: ExampleSource): Promise<Uint8Array> {
  return (await compileAssemblyScript(source.entry, ROOT)).wasm
}

/**
 * Builds the example modules that are missing or older than their sources and returns the paths
 * of all example modules. Throws on a compile error, naming the file and the compiler's message.
 */
export async function buildExamples (options: BuildExamplesOptions = {}): Promise<string[]> {
  const log = options.log ?? ((line: string) => console.log(line))
  const sources = await findSources()
  await mkdir(EXAMPLES_BUILD_DIR, { recursive: true })
  for (const source of sources) {
    const target = relative(ROOT, source.wasm)
    if (options.force !== true && await isUpToDate(source)) {
      log(`${source.name}: ${target} is up to date`)
      continue
    }
    const started = performance.now()
    const binary = await compile(source)
    // Write beside the target and rename, so a concurrent build (parallel tests) or reader never
    // sees half a module.
    const temp = `${source.wasm}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
    try {
      await writeFile(temp, binary)
      await rename(temp, source.wasm)
    } catch (err) {
      await rm(temp, { force: true })
      throw err
    }
    const ms = Math.round(performance.now() - started)
    log(`${source.name}: compiled ${relative(ROOT, source.entry)} → ${target} (${(binary.length / 1024).toFixed(1)} KiB, ${ms} ms)`)
  }
  return sources.map((s) => s.wasm)
}

if (import.meta.main) {
  try {
    await buildExamples({ force: process.argv.includes('--force') })
  } catch (err) {
    console.error(`build-examples: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 1
  }
}

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Abi, Hex } from 'viem'
import { ContractCompileError } from './errors.ts'

/**
 * Compiles conun's Solidity contracts with solc-js from npm (no compiler download is possible or
 * needed) and caches the result under build/contracts by a hash of every source, so only the first
 * run after a change pays the few seconds solc takes.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const require = createRequire(import.meta.url)
const SOURCES = ['contracts/ConunToken.sol', 'contracts/JobEscrow.sol', 'contracts/test/ReentrantToken.sol']

export interface ContractArtifact {
  readonly abi: Abi
  readonly bytecode: Hex
}
export type ContractName = 'ConunToken' | 'JobEscrow' | 'ReentrantToken'
export type Artifacts = Readonly<Record<ContractName, ContractArtifact>>

interface SolcOutput {
  errors?: Array<{ severity: string, formattedMessage: string }>
  contracts: Record<string, Record<string, { abi: Abi, evm: { bytecode: { object: string } } }>>
}

let cached: Promise<Artifacts> | undefined

/** The compiled contracts, from the cache when the sources have not changed. */
export function loadArtifacts (): Promise<Artifacts> {
  cached ??= compileOrLoad()
  return cached
}

async function compileOrLoad (): Promise<Artifacts> {
  const sources = Object.fromEntries(await Promise.all(SOURCES.map(async path => [path, { content: await readFile(join(root, path), 'utf8') }] as const)))
  const solc = require('solc') as { version(): string, compile(input: string, options: { import(path: string): { contents: string } | { error: string } }): string }
  const input = JSON.stringify({
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: 'cancun',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  })
  const key = createHash('sha256').update(solc.version()).update(input).digest('hex').slice(0, 16)
  const cacheFile = join(root, 'build', 'contracts', `${key}.json`)
  try {
    return JSON.parse(await readFile(cacheFile, 'utf8')) as Artifacts
  } catch { /* not compiled yet */ }
  const output = JSON.parse(solc.compile(input, { import: findImport })) as SolcOutput
  const errors = (output.errors ?? []).filter(error => error.severity === 'error')
  if (errors.length > 0) throw new ContractCompileError(errors.map(error => error.formattedMessage).join('\n'))
  const pick = (path: string, name: ContractName): ContractArtifact => {
    const contract = output.contracts[path]?.[name]
    if (contract === undefined) throw new ContractCompileError(`solc produced no ${name}`)
    return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` }
  }
  const artifacts: Artifacts = {
    ConunToken: pick('contracts/ConunToken.sol', 'ConunToken'),
    JobEscrow: pick('contracts/JobEscrow.sol', 'JobEscrow'),
    ReentrantToken: pick('contracts/test/ReentrantToken.sol', 'ReentrantToken'),
  }
  await mkdir(dirname(cacheFile), { recursive: true })
  // Written whole then renamed: concurrent first runs never read half a file.
  const partial = `${cacheFile}.${process.pid}.tmp`
  await writeFile(partial, JSON.stringify(artifacts))
  await rename(partial, cacheFile)
  return artifacts
}

/** Resolves `@openzeppelin/...` imports from node_modules. */
function findImport (path: string): { contents: string } | { error: string } {
  try {
    return { contents: readFileSync(require.resolve(path), 'utf8') }
  } catch {
    return { error: `not found: ${path}` }
  }
}

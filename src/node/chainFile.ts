import { readFile, stat, writeFile } from 'node:fs/promises'
import { z } from 'zod'
import { ConfigError } from './config.ts'
import type { ChainInfo } from '../ledger/index.ts'
import type { Address } from 'viem'

/**
 * chain.json: where conun's contracts are on a chain. `conun chain deploy` writes one to share with
 * everybody who joins the grid (`conun node start --chain FILE_OR_URL`); a node writes its own to
 * <dataDir>/chain.json, so that the wallet CLI finds the chain without the node.
 */
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a contract address').transform(text => text as Address)
const chainFileSchema = z.strictObject({
  chainId: z.number().int().min(1),
  /** The RPC endpoint it was deployed through; a joining node may use its own (--rpc). */
  rpcUrl: z.url({ protocol: /^https?$/ }),
  token: address,
  escrow: address,
  /** The escrow's deployment block: logs are never read from before it. */
  deploymentBlock: z.number().int().min(0),
  /** True when the node runs the chain itself (the embedded dev chain, gone when the node stops). */
  embedded: z.boolean().default(false),
})
export type ChainFile = z.infer<typeof chainFileSchema>

/** The largest chain.json accepted, from a file or a URL. */
const MAX_BYTES = 64 * 1024
const FETCH_TIMEOUT_MS = 15_000

/** Reads and checks a chain.json from a path or an http(s) URL; anything wrong is a ConfigError naming the source. */
export async function readChainFile (source: string): Promise<ChainFile> {
  const text = /^https?:\/\//.test(source) ? await fetchText(source) : await readLocal(source)
  if (Buffer.byteLength(text) > MAX_BYTES) throw new ConfigError(`chain file ${source} is over ${MAX_BYTES / 1024} KiB: not a chain.json`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`chain file ${source} is not JSON: ${(error as Error).message}`)
  }
  const parsed = chainFileSchema.safeParse(json)
  if (!parsed.success) throw new ConfigError(`chain file ${source}: ${parsed.error.issues.map(issue => `${issue.path.join('.') || '(top)'}: ${issue.message}`).join('; ')}`)
  return parsed.data
}

export async function writeChainFile (path: string, file: ChainFile): Promise<void> {
  await writeFile(path, JSON.stringify(file, null, 2) + '\n')
}

/** Where the contracts are, as a ledger client takes it. */
export function chainInfoOf (file: ChainFile): ChainInfo {
  return { chainId: file.chainId, rpcUrl: file.rpcUrl, token: file.token, escrow: file.escrow, deploymentBlock: BigInt(file.deploymentBlock) }
}

/** The chain.json of a chain a node is connected to. */
export function chainFileOf (info: ChainInfo, embedded: boolean): ChainFile {
  return { chainId: info.chainId, rpcUrl: info.rpcUrl, token: info.token, escrow: info.escrow, deploymentBlock: Number(info.deploymentBlock), embedded }
}

async function readLocal (path: string): Promise<string> {
  try {
    if ((await stat(path)).size > MAX_BYTES) throw new ConfigError(`chain file ${path} is over ${MAX_BYTES / 1024} KiB: not a chain.json`)
    return await readFile(path, 'utf8')
  } catch (error) {
    if (error instanceof ConfigError) throw error
    throw new ConfigError(`cannot read chain file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

async function fetchText (url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    // Read no more than a chain.json can be, whatever the server sends.
    const chunks: Uint8Array[] = []
    let size = 0
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength
      if (size > MAX_BYTES) throw new Error(`over ${MAX_BYTES / 1024} KiB: not a chain.json`)
      chunks.push(chunk)
    }
    return Buffer.concat(chunks).toString('utf8')
  } catch (error) {
    throw new ConfigError(`cannot fetch chain file ${url}: ${(error as Error).message}`)
  }
}

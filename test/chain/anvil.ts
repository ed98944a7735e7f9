/**
 * anvil (Foundry's dev chain, from npm) as a separate process: a second EVM implementation, built
 * by other people, to judge conun's transactions by. Its binary ships inside the npm package.
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import type { ChildProcess } from 'node:child_process'

const ANVIL = join(dirname(createRequire(import.meta.url).resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil')

export interface AnvilOptions {
  /** Seconds between blocks; without it every transaction is mined at once. */
  readonly blockTime?: number
  /** Load the chain from this file at start and write it back at exit (a restart keeps the chain). */
  readonly statePath?: string
  /** Listen on this port (to come back where it was); default a free one. */
  readonly port?: number
}

export interface Anvil {
  readonly rpcUrl: string
  readonly port: number
  /** A JSON-RPC call, for the test to drive the chain (anvil_setBalance, evm_snapshot…). */
  rpc(method: string, params?: unknown[]): Promise<unknown>
  /** Stops the process (SIGTERM: it writes its state first when it has a state file). */
  stop(): Promise<void>
}

export async function startAnvil (options: AnvilOptions = {}): Promise<Anvil> {
  const port = options.port ?? await freePort()
  const args = ['--host', '127.0.0.1', '--port', String(port)]
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime))
  if (options.statePath !== undefined) args.push('--state', options.statePath)
  const child = spawn(ANVIL, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', chunk => { stderr += chunk })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const rpcUrl = `http://127.0.0.1:${port}`
  const rpc = async (method: string, params: unknown[] = []) => {
    const response = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
    const body = await response.json() as { result?: unknown, error?: { message: string } }
    if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`)
    return body.result
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  try {
    await waitUntilAnswering(rpc, child)
  } catch (error) {
    child.kill('SIGKILL')
    await exited
    throw new Error(`anvil did not start: ${(error as Error).message}\n${stderr}`)
  }
  return { rpcUrl, port, rpc, stop }
}

async function waitUntilAnswering (rpc: Anvil['rpc'], child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`)
    try {
      await rpc('eth_chainId')
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

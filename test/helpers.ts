import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConunClient } from '../src/sdk/index.ts'

export async function tempDir (prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `conun-${prefix}-`))
}

/** Reads a task's stdout through the node API. */
export async function stdoutOf (client: ConunClient, outputs: ReadonlyArray<{ kind: string, cid: string }>): Promise<string> {
  const stdout = outputs.find(output => output.kind === 'stdout')
  if (stdout === undefined) throw new Error('task has no stdout')
  return (await client.contentBytes(stdout.cid)).toString('utf8')
}

/** Waits until `check` returns true, polling; throws after `timeoutMs`. */
export async function waitFor (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

export async function readJson (path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'))
}

import { rmSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import type { ConunClient } from '../src/sdk/index.ts'

/** Folders made by tempDir in this process: removed when it exits, whether its tests passed or not. */
const madeDirs: string[] = []

/**
 * A new folder under the OS temp dir, removed when the test process exits (each test file runs
 * in its own process). At exit, not after each test: a node stopped by a test may still write its
 * peer store a moment later, which would bring back a folder removed sooner.
 */
export async function tempDir (prefix: string): Promise<string> {
  if (madeDirs.length === 0) process.once('exit', () => { for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true }) })
  const dir = await mkdtemp(join(tmpdir(), `conun-${prefix}-`))
  madeDirs.push(dir)
  return dir
}

/** Reads a task's stdout through the node API. */
export async function stdoutOf (client: ConunClient, outputs: ReadonlyArray<{ kind: string, cid: string }>): Promise<string> {
  const stdout = outputs.find(output => output.kind === 'stdout')
  if (stdout === undefined) throw new Error('task has no stdout')
  return (await client.contentBytes(stdout.cid)).toString('utf8')
}

export { waitFor } from '../src/util/index.ts'

export { isSettled } from '../src/requester/index.ts'

export async function readJson (path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'))
}

export const BIN = resolve(import.meta.dirname, '..', 'bin', 'conun')

/** Runs the real CLI binary (with no default data dir unless the test gives one). */
export function conun (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    const child = spawn(BIN, args, { env: { ...process.env, CONUN_DATA_DIR: '/nonexistent/conun', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => { stdout += chunk })
    child.stderr.on('data', chunk => { stderr += chunk })
    child.on('close', code => resolve({ code, stdout, stderr }))
  })
}

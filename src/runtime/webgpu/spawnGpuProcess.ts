/** Runs one request in a fresh GPU process, killing it at the deadline or on abort. */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { GpuReply, GpuRequest } from './protocol.ts'

/** The GPU process's program. A function, not a module constant: the browser bundle imports this door too, and has no file URLs. */
const gpuProcessPath = () => fileURLToPath(new URL('./gpuProcess.ts', import.meta.url))
/** What of the process's stderr (Dawn's warnings) is kept for an `internal` failure's message. */
const STDERR_KEEP_BYTES = 4096

export type GpuProcessResult =
  | { readonly kind: 'reply', readonly reply: GpuReply }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'died', readonly message: string }

export function spawnGpuProcess (request: GpuRequest, env: NodeJS.ProcessEnv, timeoutMs: number, signal?: AbortSignal): Promise<GpuProcessResult> {
  return new Promise(resolve => {
    const child = fork(gpuProcessPath(), [], {
      env,
      serialization: 'advanced',
      execArgv: ['--disable-warning=ExperimentalWarning'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => { if (stderr.length < STDERR_KEEP_BYTES) stderr += chunk.toString('utf8') })
    let result: GpuProcessResult | undefined
    const finish = (outcome: GpuProcessResult, kill: boolean) => {
      if (result !== undefined) return
      result = outcome
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      // SIGKILL: a process stuck in the driver does not answer anything gentler.
      if (kill) child.kill('SIGKILL')
    }
    const onAbort = () => finish({ kind: 'cancelled' }, true)
    const timer = setTimeout(() => finish({ kind: 'timeout' }, true), timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted === true) onAbort()
    child.once('message', reply => finish({ kind: 'reply', reply: reply as GpuReply }, false))
    child.once('error', err => {
      finish({ kind: 'died', message: err.message }, true)
      resolve(result!)
    })
    child.once('exit', (code, killedBy) => {
      finish({ kind: 'died', message: `the GPU process ended (${killedBy ?? `exit code ${code}`}) without an answer${stderr === '' ? '' : `: ${stderr.slice(0, STDERR_KEEP_BYTES)}`}` }, false)
      resolve(result!)
    })
    if (result === undefined) child.send(request)
  })
}

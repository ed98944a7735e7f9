/**
 * The `webgpu` sandbox of a browser provider: the Runtime contract of src/runtime, fulfilled by a Web
 * Worker running the node runtime's plan code over `navigator.gpu`. The task's memory (its buffers'
 * bytes) and outputs are capped before any GPU work (checkGpuTask); tasks run one at a time, as on a
 * node (they share one GPU).
 *
 * A shader past its time limit cannot be stopped from a page: destroying its device, or ending the
 * worker that holds it (which destroys it), makes chromium's GPU process wait for the shader, and a
 * shader that never ends then wedges WebGPU for every tab of the browser (headless chromium has no
 * GPU watchdog to restart it). So the task fails `timeout` at once and its worker is set aside with
 * the device alive, to be ended when its shader does end. Until then the GPU is not this tab's to
 * lend (SwiftShader does not preempt a running shader: a next task may wait behind it forever), so the tab stops offering `webgpu`, refuses GPU tasks, and serves its `wasi` ones.
 */
import { checkGpuTask, TaskFailure } from '../../runtime/index.ts'
import matmulWgsl from '../../runtime/webgpu/matmul.wgsl?raw'
import { Semaphore } from '../../util/index.ts'
import type { GpuInfo, GpuReply, Runtime, TaskFailureReason, TaskRunOutcome, TaskRunRequest } from '../../runtime/index.ts'
import type { GpuWorkerRequest } from './workerProtocol.ts'

/** An adapter comes in milliseconds (seconds while a loaded machine starts the GPU process); a browser silent this long has none to give. */
const PROBE_TIMEOUT_MS = 30_000
/** Workers set aside: they outlive a provider that stops and starts again, as their shaders do. */
const stuck = new Set<Worker>()

export interface BrowserGpuRuntime extends Runtime {
  readonly gpu: GpuInfo
  /** False while a shader that ran past its time holds the GPU: the tab then does not offer `webgpu`. */
  readonly usable: boolean
  /** GPU tasks that ran to completion so far. */
  readonly done: number
}

const newWorker = () => new Worker(new URL('./gpuWorker.ts', import.meta.url), { type: 'module' })

/** Sends one request to a worker; resolves with its reply, or with `stop`'s value when `stop` fires first. */
function ask<T> (worker: Worker, request: GpuWorkerRequest, stop: (settle: (value: T) => void) => void): Promise<GpuReply | T | Error> {
  return new Promise(resolve => {
    worker.onmessage = (event: MessageEvent<GpuReply>) => resolve(event.data)
    worker.onerror = event => resolve(new Error(event.message))
    stop(resolve)
    worker.postMessage(request)
  })
}

/** The tab's GPU as a runtime, or null where the browser gives no adapter (no WebGPU, or blocked). */
export async function createBrowserGpuRuntime (read: (reference: string) => Uint8Array): Promise<BrowserGpuRuntime | null> {
  const probe = newWorker()
  let timer: ReturnType<typeof setTimeout> | undefined
  const found = await ask<'timeout'>(probe, { kind: 'probe' }, settle => { timer = setTimeout(() => settle('timeout'), PROBE_TIMEOUT_MS) })
  clearTimeout(timer)
  if (typeof found === 'string' || found instanceof Error || found.kind !== 'probe' || found.gpu === null) {
    probe.terminate()
    return null
  }
  // Its speed, as a node provider measures it at start (offers carry it for minGpuGflops); left out if it fails.
  const measured = await ask<'timeout'>(probe, { kind: 'measure', wgsl: matmulWgsl }, settle => { timer = setTimeout(() => settle('timeout'), PROBE_TIMEOUT_MS) })
  clearTimeout(timer)
  probe.terminate()
  const gflops = typeof measured === 'object' && !(measured instanceof Error) && measured.kind === 'measure' ? measured.gflops : undefined
  return gpuRuntime(gflops === undefined ? found.gpu : { ...found.gpu, gflops }, read)
}

function gpuRuntime (gpu: GpuInfo, read: (reference: string) => Uint8Array): BrowserGpuRuntime {
  const semaphore = new Semaphore(1)
  let idle: Worker | undefined
  let done = 0
  const empty = new Uint8Array(0)

  async function run (request: TaskRunRequest): Promise<TaskRunOutcome> {
    const started = performance.now()
    let bufferBytes = 0
    const failed = (reason: TaskFailureReason, message: string): TaskRunOutcome =>
      ({ status: 'failed', reason, message, stdout: empty, stderr: empty, usage: { wallMs: performance.now() - started, memoryBytes: bufferBytes } })
    if (stuck.size > 0) return failed('internal', 'this tab\'s GPU is still running a shader that ran past its time')
    let task
    try {
      const wgsl = read(request.modulePath)
      const inputs = new Map(request.inputs.map(input => [input.name, read(input.path)]))
      const checked = checkGpuTask(request.args, wgsl.byteLength, new Map([...inputs].map(([name, bytes]) => [name, bytes.byteLength])), request.limits)
      bufferBytes = checked.bufferBytes
      task = {
        wgsl: new TextDecoder().decode(wgsl),
        plan: checked.plan,
        params: checked.params,
        inputs: new Map([...checked.inputFiles].map(([buffer, file]) => [buffer, inputs.get(file)!])),
      }
    } catch (error) {
      if (error instanceof TaskFailure) return failed(error.reason, error.message)
      return failed('internal', (error as Error).message)
    }

    const worker = idle ?? newWorker()
    idle = undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort = () => {}
    const reply = await ask<'timeout' | 'cancelled'>(worker, { kind: 'run', task }, settle => {
      onAbort = () => settle('cancelled')
      request.signal?.addEventListener('abort', onAbort, { once: true })
      if (request.signal?.aborted === true) onAbort()
      timer = setTimeout(() => settle('timeout'), request.limits.timeoutMs - (performance.now() - started))
    })
    clearTimeout(timer)
    request.signal?.removeEventListener('abort', onAbort)
    if (reply === 'timeout' || reply === 'cancelled') {
      setAside(worker)
      return reply === 'timeout' ? failed('timeout', `timed out after ${request.limits.timeoutMs} ms (the shader was abandoned)`) : failed('cancelled', 'cancelled')
    }
    if (reply instanceof Error) {
      worker.terminate()
      return failed('internal', reply.message)
    }
    if (idle === undefined) idle = worker
    else worker.terminate()
    if (reply.kind === 'failed') return failed(reply.reason, reply.message)
    if (reply.kind !== 'done') return failed('internal', `unexpected answer ${reply.kind} from the GPU worker`)
    done++
    return { status: 'exit', exitCode: 0, stdout: empty, stderr: empty, files: reply.files, usage: { wallMs: performance.now() - started, memoryBytes: bufferBytes } }
  }

  /** Keeps a worker whose shader is still running until that shader ends (see the top of this file). */
  const setAside = (worker: Worker) => {
    stuck.add(worker)
    const release = () => {
      stuck.delete(worker)
      worker.terminate()
    }
    worker.onmessage = release
    worker.onerror = release
  }

  return {
    name: 'webgpu',
    slots: 1,
    gpu,
    get usable () {
      return stuck.size === 0
    },
    get done () {
      return done
    },
    async run (request) {
      try {
        await semaphore.acquire(request.signal)
      } catch {
        return { status: 'failed', reason: 'cancelled', message: 'cancelled before it started', stdout: empty, stderr: empty, usage: { wallMs: 0, memoryBytes: 0 } }
      }
      try {
        return await run(request)
      } finally {
        semaphore.release()
      }
    },
    async close () {
      idle?.terminate()
      idle = undefined
      // Workers set aside stay: ending them would wedge the browser's GPU process (see above).
    },
  }
}

/**
 * The GPU process: Dawn (npm `webgpu`) runs one probe or one task (runGpuPlan.ts) here, never in the
 * node itself, so that a driver crash or a shader that never ends costs only this process — the
 * runtime kills it at the deadline and the next task gets a fresh device.
 */
import { readFile } from 'node:fs/promises'
import { create, globals } from 'webgpu'
import { TaskFailure } from '../wasi/errors.ts'
import { matmulWgslPath } from './matmulKernel.ts'
import { measureGflops } from './measureGflops.ts'
import { describeAdapter, runGpuPlan } from './runGpuPlan.ts'
import type { GpuReply, GpuRequest, GpuRun } from './protocol.ts'

Object.assign(globalThis, globals)
/**
 * Held for the process's life: Dawn's event polling keeps using the instance, and once V8 collected
 * an unreferenced one, a task that ran longer than a moment crashed the process.
 */
const instance = create([])

async function run (request: GpuRun, adapter: GPUAdapter): Promise<GpuReply> {
  const inputs = new Map<string, Uint8Array>()
  for (const [name, path] of Object.entries(request.inputs)) inputs.set(name, await readFile(path))
  return { kind: 'done', files: await runGpuPlan(adapter, { ...request, inputs }) }
}

async function handle (request: GpuRequest): Promise<GpuReply> {
  const adapter = await instance.requestAdapter()
  if (request.kind === 'probe') return { kind: 'probe', gpu: adapter === null ? null : describeAdapter(adapter) }
  if (adapter === null) return { kind: 'failed', reason: 'internal', message: 'no GPU adapter' }
  try {
    if (request.kind === 'measure') return { kind: 'measure', gflops: await measureGflops(adapter, await readFile(matmulWgslPath(), 'utf8')) }
    return await run(request, adapter)
  } catch (err) {
    if (err instanceof TaskFailure) return { kind: 'failed', reason: err.reason, message: err.message }
    return { kind: 'failed', reason: 'internal', message: err instanceof Error ? err.message : String(err) }
  }
}

process.once('message', (request: GpuRequest) => {
  void handle(request).then(reply => {
    // Dawn's threads would keep the process alive; it has done its one job.
    process.send!(reply, () => process.exit(0))
  })
})

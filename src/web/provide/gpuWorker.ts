/**
 * A Web Worker that runs `webgpu` tasks over `navigator.gpu` (chromium exposes it in dedicated
 * workers), with the node runtime's code (runGpuPlan): the same limits checks and the same device
 * work. It answers as a node's GPU process does (GpuReply), so failures read the same.
 */
import { describeAdapter, measureGflops, runGpuPlan, TaskFailure } from '../../runtime/index.ts'
import type { GpuReply } from '../../runtime/index.ts'
import type { GpuWorkerRequest } from './workerProtocol.ts'

const scope = self as unknown as {
  navigator: { gpu?: GPU }
  onmessage: ((event: MessageEvent<GpuWorkerRequest>) => void) | null
  postMessage(message: GpuReply, transfer?: Transferable[]): void
}

scope.onmessage = ({ data: request }) => {
  void handle(request).then(reply => {
    const transfer = reply.kind === 'done' ? reply.files.map(file => file.bytes.buffer as ArrayBuffer) : []
    scope.postMessage(reply, transfer)
  })
}

async function handle (request: GpuWorkerRequest): Promise<GpuReply> {
  try {
    // A fresh adapter each time: one that has given a device cannot give another.
    const adapter = await scope.navigator.gpu?.requestAdapter() ?? null
    if (request.kind === 'probe') return { kind: 'probe', gpu: adapter === null ? null : describeAdapter(adapter) }
    if (adapter === null) return { kind: 'failed', reason: 'internal', message: 'this browser gave no GPU adapter' }
    if (request.kind === 'measure') return { kind: 'measure', gflops: await measureGflops(adapter, request.wgsl) }
    return { kind: 'done', files: await runGpuPlan(adapter, request.task) }
  } catch (error) {
    if (error instanceof TaskFailure) return { kind: 'failed', reason: error.reason, message: error.message }
    if (request.kind === 'probe') return { kind: 'probe', gpu: null }
    return { kind: 'failed', reason: 'internal', message: error instanceof Error ? error.message : String(error) }
  }
}

/** Messages between the browser runtimes and their workers (WASI and GPU). */
import type { GpuTask, MemoryDescriptor } from '../../runtime/index.ts'

export interface WorkerTask {
  readonly module: WebAssembly.Module
  /** The module's memory after capping, when it imports it (the worker then makes it). */
  readonly memory: MemoryDescriptor | undefined
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string>>
  readonly stdin: Uint8Array
  readonly inputs: ReadonlyArray<{ readonly name: string, readonly bytes: Uint8Array }>
  readonly outputBytes: number
  /** The memory cap, in bytes: a failure close to it is reported as memory-limit, as on a node. */
  readonly capBytes: number
}

export type WorkerOutcome =
  | { readonly status: 'exit', readonly exitCode: number, readonly stdout: Uint8Array, readonly stderr: Uint8Array, readonly files: Array<{ path: string, bytes: Uint8Array }>, readonly memoryBytes: number }
  | { readonly status: 'failed', readonly reason: 'invalid-module' | 'trap' | 'output-limit' | 'memory-limit', readonly message: string, readonly stdout: Uint8Array, readonly stderr: Uint8Array, readonly memoryBytes: number }

/** To a GPU worker: find the adapter, or run one `webgpu` task on a device of its own. */
export type GpuWorkerRequest = { readonly kind: 'probe' } | { readonly kind: 'measure', readonly wgsl: string } | { readonly kind: 'run', readonly task: GpuTask }

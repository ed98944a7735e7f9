/** Messages between the WebGPU runtime and its GPU process (one process per task or probe). */
import type { TaskFailureReason } from '../types.ts'
import type { GpuPlan } from './gpuPlan.ts'

/** What the provider advertises about its adapter. */
export interface GpuInfo {
  readonly vendor: string
  readonly architecture: string
  readonly device: string
  readonly description: string
  /** The largest storage buffer one binding may hold, in bytes. */
  readonly maxBufferBytes: number
  /** The most workgroups one dispatch may have per dimension. */
  readonly maxWorkgroupsPerDimension: number
  /** GFLOP/s of the f32 matmul kernel, measured at start (measureGflops.ts); absent if it could not be. */
  readonly gflops?: number
}

export interface GpuRun {
  readonly kind: 'run'
  readonly wgsl: string
  readonly plan: GpuPlan
  /** The params buffer's bytes, when the plan has one. */
  readonly params: Uint8Array | null
  /** Input buffer name → local path of its file. */
  readonly inputs: Readonly<Record<string, string>>
}

export type GpuRequest = { readonly kind: 'probe' } | { readonly kind: 'measure' } | GpuRun

export type GpuReply =
  | { readonly kind: 'probe', readonly gpu: GpuInfo | null }
  | { readonly kind: 'measure', readonly gflops: number }
  | { readonly kind: 'done', readonly files: ReadonlyArray<{ readonly path: string, readonly bytes: Uint8Array }> }
  | { readonly kind: 'failed', readonly reason: TaskFailureReason, readonly message: string }

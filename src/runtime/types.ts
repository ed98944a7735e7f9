/**
 * The contract every sandbox runtime (WASI, Docker, WebGPU) fulfils: run one task from local
 * files and report what happened. Runtimes never touch the network or storage; the provider agent
 * fetches code and inputs by CID before calling them, and publishes outputs afterwards.
 */

export type RuntimeName = 'wasi' | 'docker' | 'webgpu'

export interface TaskLimits {
  /** Upper bound on the sandbox's memory (WASI: linear memory; Docker: the container's cgroup; WebGPU: the task's buffers), in bytes. */
  readonly memoryBytes: number
  /** Wall-clock budget; the sandbox is killed when it runs out. */
  readonly timeoutMs: number
  /** Upper bound on stdout + stderr + every file written to /out, in bytes. */
  readonly outputBytes: number
}

export interface TaskRunRequest {
  /** Content address of the code (WASI: the module; Docker: the image tarball); cached under it. */
  readonly moduleCid: string
  /** Local path of the code's bytes (already verified against moduleCid). */
  readonly modulePath: string
  /** argv[1..]; argv[0] is set by the runtime. */
  readonly args: readonly string[]
  /** The only environment variables the task sees. */
  readonly env: Readonly<Record<string, string>>
  readonly stdin?: Uint8Array
  /** Files visible read-only under /in: name inside /in → local path of the verified bytes. */
  readonly inputs: ReadonlyArray<{ readonly name: string, readonly path: string }>
  readonly limits: TaskLimits
  /** Aborting kills the sandbox; the outcome is then `cancelled`. */
  readonly signal?: AbortSignal
}

/** Why a task did not run to completion. `exit` means it ran and returned an exit code. */
export type TaskFailureReason =
  | 'timeout' // wall clock ran out
  | 'memory-limit' // tried to use more memory than allowed
  | 'output-limit' // wrote more than allowed to stdout/stderr/out
  | 'trap' // WebAssembly trap (unreachable, out-of-bounds, …)
  | 'invalid-module' // not a WASI preview-1 module, or imports something not provided
  | 'invalid-image' // not a loadable Docker image tarball
  | 'cancelled' // the caller aborted
  | 'given-back' // paused for the machine's owner too long; the requester runs it elsewhere
  | 'internal' // the runtime itself failed

export interface OutputFile {
  /** Path relative to /out, with forward slashes. */
  readonly path: string
  readonly bytes: Uint8Array
}

export interface TaskUsage {
  readonly wallMs: number
  /** Peak linear memory of the module, in bytes (Docker: not measured, 0). */
  readonly memoryBytes: number
}

export type TaskRunOutcome =
  | {
    readonly status: 'exit'
    readonly exitCode: number
    readonly stdout: Uint8Array
    readonly stderr: Uint8Array
    readonly files: readonly OutputFile[]
    readonly usage: TaskUsage
  }
  | {
    readonly status: 'failed'
    readonly reason: TaskFailureReason
    /** Human-readable explanation, e.g. "timed out after 2000 ms". */
    readonly message: string
    /** What the task printed before it failed (bounded by the output limit). */
    readonly stdout: Uint8Array
    readonly stderr: Uint8Array
    readonly usage: TaskUsage
  }

export interface Runtime {
  readonly name: RuntimeName
  /** How many tasks may run at once. */
  readonly slots: number
  run(request: TaskRunRequest): Promise<TaskRunOutcome>
  close(): Promise<void>
}

/** Messages between the runtime (main thread) and its workers; one task per worker at a time. */
import type { OutputFile } from '../types.ts'
import type { MemoryDescriptor } from './capMemory.ts'
import type { FailureInfo } from './errors.ts'
import type { WasmModule } from './webAssembly.ts'

export interface RunMessage {
  readonly type: 'run'
  readonly module: WasmModule
  /** The module's memory after capping; only an imported one needs the worker to create it. */
  readonly memory: MemoryDescriptor
  readonly capBytes: number
  /** Unused paths for this task's /in and /out folders: the worker creates and removes them. */
  readonly inDir: string
  readonly outDir: string
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string>>
  readonly stdin: Uint8Array
  readonly inputs: ReadonlyArray<{ readonly name: string, readonly path: string }>
  readonly outputBytes: number
  /** Growable buffers the worker appends stdout/stderr to, readable by the main thread even after a kill. */
  readonly stdout: SharedArrayBuffer
  readonly stderr: SharedArrayBuffer
}

export type WorkerOutcome =
  | { readonly status: 'exit', readonly exitCode: number, readonly files: readonly OutputFile[], readonly memoryBytes: number }
  | ({ readonly status: 'failed', readonly memoryBytes: number } & FailureInfo)

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'done', readonly outcome: WorkerOutcome }

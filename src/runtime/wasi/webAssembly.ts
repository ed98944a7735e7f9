/**
 * Typed access to the global `WebAssembly`. The project compiles against lib ES2024 and Node's
 * types, and neither declares it (only lib.dom does); pulling DOM types into the whole program for
 * this would be worse than declaring the few members the runtime uses.
 */

/** A compiled module; opaque here. Posting one to a worker shares its compiled code. */
export interface WasmModule {
  readonly [Symbol.toStringTag]: string
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer
  grow(deltaPages: number): number
}

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>
}

export type WasmImports = Record<string, Record<string, unknown>>

type ExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag'

interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<WasmModule>
  readonly Module: {
    new (bytes: Uint8Array): WasmModule
    imports(module: WasmModule): Array<{ module: string, name: string, kind: ExternKind }>
    exports(module: WasmModule): Array<{ name: string, kind: ExternKind }>
  }
  readonly Instance: new (module: WasmModule, imports: WasmImports) => WasmInstance
  readonly Memory: new (descriptor: { initial: number, maximum?: number, shared?: boolean }) => WasmMemory
  readonly CompileError: ErrorConstructor
  readonly LinkError: ErrorConstructor
  readonly RuntimeError: ErrorConstructor
}

export const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly

/**
 * A Web Worker that runs one WASI task at a time with @bjorn3/browser_wasi_shim: the same contract
 * as a node's sandbox (argv, the given env only, stdin, /in read-only, /out writable, output cap).
 * Everything lives in this worker's memory; the page kills the worker at the time limit.
 */
import { ConsoleStdout, Directory, File, OpenFile, PreopenDirectory, WASI } from '@bjorn3/browser_wasi_shim'
import type { Inode } from '@bjorn3/browser_wasi_shim'
import { concatBytes } from '../../util/index.ts'
import type { WorkerOutcome, WorkerTask } from './workerProtocol.ts'

class OutputLimitReached extends Error {}

const scope = self as unknown as { onmessage: ((event: MessageEvent<WorkerTask>) => void) | null, postMessage(message: WorkerOutcome, transfer?: Transferable[]): void }

scope.onmessage = ({ data: task }) => {
  const outcome = run(task)
  const transfer = outcome.status === 'exit' ? outcome.files.map(file => file.bytes.buffer as ArrayBuffer) : []
  scope.postMessage(outcome, transfer)
}

function run (task: WorkerTask): WorkerOutcome {
  let used = 0
  const capture = () => {
    const chunks: Uint8Array[] = []
    const fd = new ConsoleStdout(buffer => {
      used += buffer.byteLength
      if (used > task.outputBytes) throw new OutputLimitReached(`output exceeded the limit of ${task.outputBytes} bytes`)
      chunks.push(buffer.slice())
    })
    return { fd, bytes: () => concatBytes(chunks) }
  }
  const stdout = capture()
  const stderr = capture()
  const out = new Map<string, Inode>()
  const wasi = new WASI(['task.wasm', ...task.args], Object.entries(task.env).map(([k, v]) => `${k}=${v}`), [
    new OpenFile(new File(task.stdin, { readonly: true })),
    stdout.fd,
    stderr.fd,
    new PreopenDirectory('/in', inputTree(task.inputs)),
    new PreopenDirectory('/out', out),
  ], { debug: false })
  const imports: Record<string, Record<string, unknown>> = { wasi_snapshot_preview1: wasi.wasiImport }
  let importedMemory: WebAssembly.Memory | undefined
  if (task.memory?.import !== undefined) {
    importedMemory = new WebAssembly.Memory({ initial: task.memory.initialPages, maximum: task.memory.maximumPages, shared: task.memory.shared })
    imports[task.memory.import.module] = { ...imports[task.memory.import.module], [task.memory.import.name]: importedMemory }
  }
  let instance: WebAssembly.Instance
  try {
    instance = new WebAssembly.Instance(task.module, imports as WebAssembly.Imports)
  } catch (error) {
    return failed('invalid-module', `cannot instantiate the module: ${(error as Error).message}`)
  }
  const memory = (instance.exports.memory as WebAssembly.Memory | undefined) ?? importedMemory
  if (memory === undefined || typeof instance.exports._start !== 'function') return failed('invalid-module', 'a WASI command must have a memory and export _start')
  let exitCode: number
  try {
    exitCode = wasi.start({ exports: { memory, _start: instance.exports._start as () => unknown } })
  } catch (error) {
    if (error instanceof OutputLimitReached) return failed('output-limit', error.message)
    return failed('trap', `the module trapped: ${(error as Error).message}`)
  }
  const files = collect(out, '').sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  used += files.reduce((sum, file) => sum + file.bytes.byteLength, 0)
  if (used > task.outputBytes) return failed('output-limit', `output exceeded the limit of ${task.outputBytes} bytes`)
  return { status: 'exit', exitCode, stdout: stdout.bytes(), stderr: stderr.bytes(), files, memoryBytes: memory.buffer.byteLength }

  function failed (reason: 'invalid-module' | 'trap' | 'output-limit', message: string): WorkerOutcome {
    return { status: 'failed', reason, message, stdout: stdout.bytes(), stderr: stderr.bytes(), memoryBytes: memory?.buffer.byteLength ?? 0 }
  }
}

/** /in as a tree of read-only files; names may have folders ("data/a.txt"). */
function inputTree (inputs: WorkerTask['inputs']): Map<string, Inode> {
  const root = new Map<string, Inode>()
  for (const input of inputs) {
    const parts = input.name.split('/')
    let dir = root
    for (const part of parts.slice(0, -1)) {
      let next = dir.get(part)
      if (!(next instanceof Directory)) {
        next = new Directory(new Map())
        dir.set(part, next)
      }
      dir = (next as Directory).contents
    }
    dir.set(parts.at(-1)!, new File(input.bytes, { readonly: true }))
  }
  return root
}

function collect (dir: Map<string, Inode>, prefix: string): Array<{ path: string, bytes: Uint8Array }> {
  return [...dir].flatMap(([name, inode]) => {
    if (inode instanceof Directory) return collect(inode.contents, `${prefix}${name}/`)
    if (inode instanceof File) return [{ path: `${prefix}${name}`, bytes: inode.data.slice() }]
    return []
  })
}

/** Worker entry: runs one task at a time, as long as the pool keeps it. */
import { openSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import type { RunMessage, WorkerMessage } from './protocol.ts'
import { runWorkerTask } from './workerTask.ts'

const port = parentPort
if (!port) throw new Error('worker.ts must run in a worker thread')

// uvwasi needs real fds for 0/1/2: /dev/null ones, which the sandbox never lets it close (the shim
// serves the actual stdin/stdout/stderr). Node closes them when the worker exits.
const stdioFds = [openSync('/dev/null', 'r'), openSync('/dev/null', 'w'), openSync('/dev/null', 'w')]

// Each task leaves its WASI bindings behind, and its WebAssembly memory where the pool does not
// keep it (it grew: see memoryPool.ts), outside the JS heap, where V8 does not see them pile up: a
// provider running small tasks (384 KiB of memory each) grew by about 90 MB between V8's own
// collections. So the worker collects after every GARBAGE_BUDGET_BYTES of task memory left
// behind (each task counted at least TASK_OVERHEAD_BYTES), at most every
// MIN_COLLECT_INTERVAL_MS: a collection takes 8–20 ms however little it frees.
const GARBAGE_BUDGET_BYTES = 32 * 1024 * 1024
const TASK_OVERHEAD_BYTES = 128 * 1024
const MIN_COLLECT_INTERVAL_MS = 100
const collectGarbage = (globalThis as { gc?: () => void }).gc
let garbageBytes = 0
let collectedAt = performance.now()

port.on('message', (task: RunMessage) => {
  const { outcome, garbageBytes: left } = runWorkerTask(task, stdioFds)
  const transfer = outcome.status === 'exit' ? outcome.files.map((f) => f.bytes.buffer as ArrayBuffer) : []
  port.postMessage({ type: 'done', outcome } satisfies WorkerMessage, transfer)
  // After the result is on its way, so that collecting delays the next task, not this one.
  garbageBytes += Math.max(left, TASK_OVERHEAD_BYTES)
  if (collectGarbage !== undefined && garbageBytes >= GARBAGE_BUDGET_BYTES && performance.now() - collectedAt >= MIN_COLLECT_INTERVAL_MS) {
    collectGarbage()
    garbageBytes = 0
    collectedAt = performance.now()
  }
})

port.postMessage({ type: 'ready' } satisfies WorkerMessage)

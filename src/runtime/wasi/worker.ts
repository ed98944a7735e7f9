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

port.on('message', (task: RunMessage) => {
  const outcome = runWorkerTask(task, stdioFds)
  const transfer = outcome.status === 'exit' ? outcome.files.map((f) => f.bytes.buffer as ArrayBuffer) : []
  port.postMessage({ type: 'done', outcome } satisfies WorkerMessage, transfer)
})

port.postMessage({ type: 'ready' } satisfies WorkerMessage)

/**
 * A fixed number of long-lived workers, handed out one task at a time. A worker that dies (killed
 * on timeout, crashed) is replaced; starting a worker costs tens of ms, so it never happens per task.
 */
import type { Worker } from 'node:worker_threads'
import type { WorkerMessage } from './protocol.ts'

interface Waiter {
  resolve(worker: Worker): void
  reject(err: Error): void
}

export class WorkerPool {
  readonly #spawnWorker: () => Worker
  readonly #idle: Worker[] = []
  readonly #waiters: Waiter[] = []
  readonly #live = new Set<Worker>()
  #started = 0
  #closed = false
  #broken: Error | undefined

  constructor(size: number, spawnWorker: () => Worker) {
    this.#spawnWorker = spawnWorker
    for (let i = 0; i < size; i++) this.#spawn()
  }

  /** Workers started so far, replacements included. */
  get started(): number {
    return this.#started
  }

  /** Resolves with an idle worker, waiting in line if all are busy; rejects on abort or close. */
  acquire(signal?: AbortSignal): Promise<Worker> {
    if (this.#closed) return Promise.reject(new Error('the runtime is closed'))
    if (this.#broken) return Promise.reject(this.#broken)
    const idle = this.#idle.pop()
    if (idle) return Promise.resolve(take(idle))
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        reject(new Error('cancelled while waiting for a free worker'))
      }
      const waiter: Waiter = {
        resolve: (w) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(take(w))
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(waiter)
    })
  }

  /** Gives back a worker that finished its task normally. */
  release(worker: Worker): void {
    if (this.#closed || !this.#live.has(worker)) return
    const waiter = this.#waiters.shift()
    if (waiter) {
      waiter.resolve(worker)
      return
    }
    worker.unref() // an idle pool must not keep the process alive
    this.#idle.push(worker)
  }

  /** Kills a worker (e.g. stuck in a loop); resolves once its thread is gone. A replacement starts. */
  async discard(worker: Worker): Promise<void> {
    await worker.terminate()
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new Error('the runtime is closed'))
    await Promise.all([...this.#live].map((w) => w.terminate()))
  }

  #spawn(): void {
    const worker = this.#spawnWorker()
    this.#started++
    this.#live.add(worker)
    let ready = false
    let startError: Error | undefined
    const onReady = (message: WorkerMessage): void => {
      if (message.type !== 'ready') return
      worker.off('message', onReady)
      ready = true
      this.release(worker)
    }
    worker.on('message', onReady)
    // Without a listener an 'error' event would crash the whole process; tasks listen for their own.
    worker.on('error', (err) => {
      startError ??= err
    })
    worker.once('exit', (code) => {
      this.#live.delete(worker)
      const at = this.#idle.indexOf(worker)
      if (at >= 0) this.#idle.splice(at, 1)
      if (this.#closed) return
      if (!ready) {
        this.#broken = new Error(`a worker failed to start (exit code ${code}): ${startError?.message ?? 'no error reported'}`)
        for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#broken)
        return
      }
      this.#spawn()
    })
  }
}

function take(worker: Worker): Worker {
  worker.ref()
  return worker
}

/**
 * Up to a fixed number of long-lived workers, handed out one task at a time. Workers start when a
 * task needs one (starting costs tens of ms, so never per task) and an idle one ends after
 * `idleMs`: each is a V8 isolate of about 25 MB, which an idle provider should not hold. A worker
 * that dies (killed on timeout, crashed) is replaced by the next task that needs one.
 */
import type { Worker } from 'node:worker_threads'
import type { WorkerMessage } from './protocol.ts'

interface Waiter {
  resolve(worker: Worker): void
  reject(err: Error): void
}

export interface WorkerPoolOptions {
  /** How long a worker may sit idle before it ends. */
  readonly idleMs: number
  /** Called once a worker ended because it sat idle, to clean up what the runtime keeps for it. */
  readonly onRetired: (worker: Worker) => void
}

export class WorkerPool {
  readonly #size: number
  readonly #spawnWorker: () => Worker
  readonly #options: WorkerPoolOptions
  readonly #idle: Worker[] = []
  readonly #idleTimers = new Map<Worker, NodeJS.Timeout>()
  readonly #waiters: Waiter[] = []
  /** Started and not yet exited, ready or not. */
  readonly #live = new Set<Worker>()
  #started = 0
  #starting = 0
  #closed = false
  #broken: Error | undefined

  constructor(size: number, spawnWorker: () => Worker, options: WorkerPoolOptions) {
    this.#size = size
    this.#spawnWorker = spawnWorker
    this.#options = options
  }

  /** Workers started so far, replacements included. */
  get started(): number {
    return this.#started
  }

  /** Workers running now, busy, idle or starting. */
  get live(): number {
    return this.#live.size
  }

  /** Resolves with an idle worker, starting one if fewer than `size` are live, or waits in line; rejects on abort or close. */
  acquire(signal?: AbortSignal): Promise<Worker> {
    if (this.#closed) return Promise.reject(new Error('the runtime is closed'))
    if (this.#broken) return Promise.reject(this.#broken)
    const idle = this.#idle.pop()
    if (idle) return Promise.resolve(this.#take(idle))
    const waiting = new Promise<Worker>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        reject(new Error('cancelled while waiting for a free worker'))
      }
      const waiter: Waiter = {
        resolve: (w) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(this.#take(w))
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(waiter)
    })
    this.#spawnForWaiters()
    return waiting
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
    const timer = setTimeout(() => this.#retire(worker), this.#options.idleMs)
    timer.unref()
    this.#idleTimers.set(worker, timer)
  }

  /** Kills a worker (e.g. stuck in a loop); resolves once its thread is gone. */
  async discard(worker: Worker): Promise<void> {
    await worker.terminate()
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const timer of this.#idleTimers.values()) clearTimeout(timer)
    this.#idleTimers.clear()
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new Error('the runtime is closed'))
    await Promise.all([...this.#live].map((w) => w.terminate()))
  }

  #take(worker: Worker): Worker {
    clearTimeout(this.#idleTimers.get(worker))
    this.#idleTimers.delete(worker)
    worker.ref()
    return worker
  }

  async #retire(worker: Worker): Promise<void> {
    const at = this.#idle.indexOf(worker)
    if (at < 0) return
    this.#idle.splice(at, 1)
    this.#idleTimers.delete(worker)
    await worker.terminate()
    this.#options.onRetired(worker)
  }

  /** Starts a worker for each task waiting beyond those already starting, as far as the size allows. */
  #spawnForWaiters(): void {
    while (this.#starting < this.#waiters.length && this.#live.size < this.#size) this.#spawn()
  }

  #spawn(): void {
    const worker = this.#spawnWorker()
    this.#started++
    this.#live.add(worker)
    this.#starting++
    let ready = false
    let startError: Error | undefined
    const onReady = (message: WorkerMessage): void => {
      if (message.type !== 'ready') return
      worker.off('message', onReady)
      ready = true
      this.#starting--
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
        this.#starting--
        this.#broken = new Error(`a worker failed to start (exit code ${code}): ${startError?.message ?? 'no error reported'}`)
        for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#broken)
        return
      }
      this.#spawnForWaiters()
    })
  }
}

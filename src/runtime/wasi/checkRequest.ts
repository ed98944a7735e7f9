/** Rejects malformed requests before any work is done: these are the caller's bugs, not task outcomes. */
import type { TaskRunRequest } from '../types.ts'
import { PAGE_BYTES } from './capMemory.ts'
import { checkInputNames } from './taskFiles.ts'

/** setTimeout fires at once for longer delays. */
const MAX_TIMER_MS = 2 ** 31 - 1

export function checkRequest(request: TaskRunRequest): void {
  const { limits } = request
  if (!request.moduleCid) throw new Error('moduleCid is empty')
  if (!request.modulePath) throw new Error('modulePath is empty')
  if (!(limits.memoryBytes >= PAGE_BYTES)) throw new Error(`limits.memoryBytes must be at least one page (${PAGE_BYTES} bytes)`)
  if (!(limits.timeoutMs > 0 && limits.timeoutMs <= MAX_TIMER_MS)) throw new Error(`limits.timeoutMs must be in (0, ${MAX_TIMER_MS}]`)
  if (!(limits.outputBytes >= 0 && Number.isSafeInteger(limits.outputBytes))) throw new Error('limits.outputBytes must be a whole number ≥ 0')
  for (const arg of request.args) {
    if (arg.includes('\0')) throw new Error(`argument ${JSON.stringify(arg)} contains a NUL character`)
  }
  for (const [key, value] of Object.entries(request.env)) {
    if (key === '' || key.includes('=') || key.includes('\0') || value.includes('\0')) {
      throw new Error(`invalid environment variable ${JSON.stringify(key)}`)
    }
  }
  checkInputNames(request.inputs)
}

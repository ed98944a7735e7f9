/**
 * How many Web Workers a tab runs tasks in. By default every core the device reports but one, which
 * stays with the page and the device itself (a phone in the hand must still scroll). The user's
 * choice on the page is kept per browser; a `?slots=N` in the link sets it for that visit.
 */
const WORKERS_KEY = 'conun.workers'

/** The most workers this device can spare: its cores as the browser reports them. */
export function availableCores (): number {
  return Math.max(1, navigator.hardwareConcurrency || 1)
}

/** A requested worker count kept between 1 and the device's cores; anything unreadable is the default. */
export function clampWorkers (requested: number, cores = availableCores()): number {
  if (!Number.isInteger(requested) || requested < 1) return Math.max(1, cores - 1)
  return Math.min(requested, cores)
}

/** The worker count to start with: the link's, else the one kept from the user's last choice, else the default. */
export function initialWorkers (search: string): number {
  const chosen = new URLSearchParams(search).get('slots') ?? localStorage.getItem(WORKERS_KEY)
  return clampWorkers(chosen === null ? 0 : Number(chosen))
}

export function keepWorkers (count: number): void {
  localStorage.setItem(WORKERS_KEY, String(count))
}

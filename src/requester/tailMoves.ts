/** A task sent to a provider that has not said it started it. */
export interface WaitingTask {
  readonly idx: number
  readonly attempt: number
  readonly peerId: string
}

/** How busy one linked provider is. */
export interface ProviderLoad {
  readonly peerId: string
  readonly cores: number
  /** Tasks sent to it and not yet back, running or waiting. */
  readonly inFlight: number
  /** Its sandbox time per task, in ms (undefined until a result). */
  readonly taskMs: number | undefined
}

/**
 * A task waits only behind tasks this long or longer (or of a provider whose pace is not known yet)
 * to be moved: behind short ones it starts about as soon as a move would get it started elsewhere,
 * and a move cancels one attempt and makes another.
 */
export const MOVE_BEHIND_TASKS_MS = 100

/**
 * The job's tail. Each provider holds a task or so beyond its cores, so that it never waits for its
 * next assignment; once the queue is empty, a provider that runs out of work idles while another
 * still holds such a task, and the job ends on the slower provider's queue. This moves waiting
 * tasks (the last sent first, as many as a provider holds beyond its cores, behind tasks of
 * MOVE_BEHIND_TASKS_MS or more) to providers with an idle core, each to one that `mayTake` it
 * (replicas of a task stay on different providers).
 * `waiting` lists tasks in the order they were sent.
 */
export function tailMoves (providers: readonly ProviderLoad[], waiting: readonly WaitingTask[], mayTake: (peerId: string, idx: number) => boolean): Array<{ task: WaitingTask, to: string }> {
  const idle = new Map(providers.filter(p => p.inFlight < p.cores).map(p => [p.peerId, p.cores - p.inFlight]))
  if (idle.size === 0) return []
  const slow = (p: ProviderLoad) => p.taskMs === undefined || p.taskMs >= MOVE_BEHIND_TASKS_MS
  const beyondCores = new Map(providers.filter(slow).map(p => [p.peerId, p.inFlight - p.cores]))
  const moves: Array<{ task: WaitingTask, to: string }> = []
  for (const task of [...waiting].reverse()) {
    if ((beyondCores.get(task.peerId) ?? 0) <= 0) continue
    const to = [...idle.keys()].find(peerId => peerId !== task.peerId && mayTake(peerId, task.idx))
    if (to === undefined) continue
    moves.push({ task, to })
    beyondCores.set(task.peerId, beyondCores.get(task.peerId)! - 1)
    const left = idle.get(to)! - 1
    if (left === 0) idle.delete(to)
    else idle.set(to, left)
    if (idle.size === 0) break
  }
  return moves
}

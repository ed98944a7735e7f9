/**
 * Turns many triggers into few runs of `work`: at most one run per `intervalMs`, never two at once,
 * and a trigger that comes while a run is under way earns one more run after it (so the last
 * change is never missed).
 */
export function coalesce (work: () => Promise<void>, intervalMs: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined
  let again = false
  const trigger = () => {
    again = true
    if (timer !== undefined) return
    timer = setTimeout(() => {
      again = false
      void work().catch(() => { /* the next trigger tries again */ }).finally(() => {
        timer = undefined
        if (again) trigger()
      })
    }, intervalMs)
  }
  return trigger
}

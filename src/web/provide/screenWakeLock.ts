/**
 * Keeps the screen on while the tab provides, where the browser allows it. A phone whose screen
 * turns off hides the tab, and a hidden tab stops providing. The browser lets go of the lock
 * whenever the tab is hidden, so it is asked for again each time the tab starts providing.
 */
export type WakeLockState = 'held' | 'refused' | 'unsupported' | 'released'

export class ScreenWakeLock {
  private sentinel: WakeLockSentinel | undefined

  async hold (): Promise<WakeLockState> {
    if (this.sentinel !== undefined && !this.sentinel.released) return 'held'
    if (!('wakeLock' in navigator)) return 'unsupported'
    try {
      this.sentinel = await navigator.wakeLock.request('screen')
      return 'held'
    } catch {
      // Refused when the page is not visible, on low battery, or by a permissions policy.
      return 'refused'
    }
  }

  async release (): Promise<WakeLockState> {
    const sentinel = this.sentinel
    this.sentinel = undefined
    await sentinel?.release()
    return 'released'
  }
}

/**
 * When a provider lends its machine: the state machine of the idle-only policy, in one pure
 * function. The owner comes first — tasks run only while nobody else needs the CPU, inside the
 * allowed time windows and on mains power.
 *
 *   idle-wait ──(quiet for idleForMs)──▶ running ──(busy, battery, outside window)──▶ paused-busy
 *       ▲                                   ▲                                             │
 *       │                                   └──────────(quiet for idleForMs)──────────────┤
 *       └─────────────────(paused longer than maxPausedMs: tasks given back)──────────────┘
 */

export type PolicyStateName = 'running' | 'paused-busy' | 'idle-wait'

/** A daily window in minutes since local midnight; `from > to` spans midnight (22:00–07:00). */
export interface TimeWindow {
  readonly fromMinute: number
  readonly toMinute: number
}

export interface IdlePolicyConfig {
  /** Take tasks only while other programs leave the CPU idle; false: always, within windows and power rules. */
  readonly idleOnly: boolean
  /** Share of the machine's CPU (0–1) used by other programs above which the machine counts as busy. */
  readonly busyAbove: number
  /** How long the machine must stay below the threshold before tasks start or resume. */
  readonly idleForMs: number
  /** Paused tasks are given back (to run elsewhere) after this long. */
  readonly maxPausedMs: number
  /** When tasks may run; empty: any time. */
  readonly windows: readonly TimeWindow[]
  readonly runOnBattery: boolean
}

/** One reading of the machine. */
export interface PolicyInput {
  readonly now: number
  /** Minutes since local midnight. */
  readonly minuteOfDay: number
  /** CPU share (0–1) used by everything but conun and its tasks. */
  readonly foreignLoad: number
  readonly onBattery: boolean
}

export interface PolicyState {
  readonly name: PolicyStateName
  /** Why the machine is not running tasks, or why it is. */
  readonly reason: string
  /** When the current state began. */
  readonly since: number
  /** Since when the machine has been fit to run tasks without a break; undefined while it is not. */
  readonly fitSince: number | undefined
}

/** What the provider must do on this step. */
export type PolicyAction = 'pause' | 'resume' | 'give-back'

export function initialPolicyState (config: IdlePolicyConfig, now: number): PolicyState {
  return config.idleOnly
    ? { name: 'idle-wait', reason: 'waiting for the machine to be idle', since: now, fitSince: undefined }
    : { name: 'running', reason: 'lending the machine', since: now, fitSince: now }
}

/** Whether tasks may run given this reading, and if not, why. */
export function fitness (config: IdlePolicyConfig, input: PolicyInput): { fit: true } | { fit: false, reason: string } {
  if (input.onBattery && !config.runOnBattery) return { fit: false, reason: 'on battery' }
  if (config.windows.length > 0 && !config.windows.some(window => inWindow(window, input.minuteOfDay))) return { fit: false, reason: 'outside the allowed time windows' }
  if (config.idleOnly && input.foreignLoad > config.busyAbove) return { fit: false, reason: `machine busy (other programs use ${Math.round(input.foreignLoad * 100)} % of the CPU)` }
  return { fit: true }
}

/** The next state and the actions that take the provider there. */
export function nextPolicyState (state: PolicyState, input: PolicyInput, config: IdlePolicyConfig): { state: PolicyState, actions: PolicyAction[] } {
  const check = fitness(config, input)
  const fitSince = check.fit ? (state.fitSince ?? input.now) : undefined
  // Without idle-only mode there is no load to wait out: fit is fit at once.
  const settled = check.fit && (!config.idleOnly || input.now - fitSince! >= config.idleForMs)
  const to = (name: PolicyStateName, reason: string): PolicyState => ({ name, reason, since: name === state.name ? state.since : input.now, fitSince })
  switch (state.name) {
    case 'running':
      return check.fit
        ? { state: to('running', state.reason), actions: [] }
        : { state: to('paused-busy', check.reason), actions: ['pause'] }
    case 'paused-busy':
      if (settled) return { state: to('running', 'the machine is idle again'), actions: ['resume'] }
      if (input.now - state.since >= config.maxPausedMs) return { state: to('idle-wait', `paused tasks given back after ${Math.round(config.maxPausedMs / 1000)} s`), actions: ['give-back'] }
      return { state: to('paused-busy', check.fit ? 'waiting for the machine to stay idle' : check.reason), actions: [] }
    case 'idle-wait':
      return settled
        ? { state: to('running', 'the machine is idle'), actions: [] }
        : { state: to('idle-wait', check.fit ? 'waiting for the machine to stay idle' : check.reason), actions: [] }
  }
}

/** Parses "22:00-07:00" into a window. */
export function parseTimeWindow (text: string): TimeWindow {
  const match = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(text.trim())
  const minutes = match?.slice(1).map(Number)
  if (minutes === undefined || minutes[0]! > 23 || minutes[2]! > 24 || minutes[1]! > 59 || minutes[3]! > 59) {
    throw new RangeError(`invalid time window "${text}": use HH:MM-HH:MM, e.g. 22:00-07:00`)
  }
  return { fromMinute: minutes[0]! * 60 + minutes[1]!, toMinute: minutes[2]! * 60 + minutes[3]! }
}

function inWindow (window: TimeWindow, minute: number): boolean {
  return window.fromMinute <= window.toMinute
    ? minute >= window.fromMinute && minute < window.toMinute
    : minute >= window.fromMinute || minute < window.toMinute
}

import { realpathSync } from 'node:fs'
import { keepHeapHeadroom } from './heapHeadroom.ts'
import { freshBundle, PROVIDER_BUNDLE } from './providerBundle.ts'
import type { HeapHeadroom } from './heapHeadroom.ts'

/**
 * A node runs for days, and a provider is the program people leave running on their machines, so
 * a node's process is set up to stay small (issue 16), which only the process's own start can do:
 * - V8's young generation: V8 sizes it for the machine and keeps what a busy node's allocation rate
 *   grew it to (up to 128 MB of new space was seen in a provider on a 24 GiB machine). A provider
 *   gets 1 MB semi-spaces, which cost it no measurable CPU (more scavenges, each shorter): over
 *   10,000 small tasks it peaked at 147–149 MB against 151–152 with 2 MB (2026-12-07); a
 *   requester 8 MB: over a 100,000-task job at 900 tasks/s its peak RSS went from 335 to 215 MB,
 *   for about 10 % more CPU per task (bench:scale, 2026-12-06).
 * - V8's old generation: after each full collection V8 lets it grow well past what survived (to
 *   1.8 times it in a busy requester) before the next one. Objects that outlive a few scavenges
 *   (a task's state while it is out) pile up there as garbage, so a million-task job's requester
 *   rose by 100 MB and fell back every few minutes. Growing by a quarter makes full collections
 *   come sooner, each on a smaller heap: that job peaked at 232–245 MB instead of 345 (1.13–1.14×
 *   a 10,000-task job's peak), at no cost in tasks/s (bench:scale, 2026-12-07). A node's heap may
 *   also grow by at least 32 MB (see heapHeadroom.ts): a quarter of a requester's 57 MB let the
 *   weights and deltas of a training round in flight start a full collection every 200 ms, 18 in
 *   bench:train's 4 s (b) run, for 1.9 s of the requester's CPU; with the 32 MB, 5 and 0.9 s (64
 *   MB: 0–1 and 0.7 s, but the million-task job then peaked at 287 MB, 1.42× the 10,000-task
 *   job's; with 32 MB at 231 MB, 1.19×; 2026-12-08).
 * - V8's baseline compiler (Sparkplug) turns every function that runs a while into machine code,
 *   kept in the code space, and more of it the longer a provider runs: its peak crept 3 MB from
 *   50,000 to 1,000,000 tasks. Hot code still goes to V8's optimizing compilers. Without it a
 *   provider peaked at 141.8–143.8 MB over 120,000 tasks against 145.8–146.4, at 0.85–1.06 ms of
 *   CPU per task against 0.94–1.52 (three and two runs, 2026-12-07).
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates (libuv's pool, the WASI workers,
 *   V8's helpers) an arena of its own and keeps their freed memory; two arenas are enough here.
 * - `MALLOC_MMAP_THRESHOLD_=32768`: V8 parses and compiles in zones of 32 KB segments taken from
 *   malloc and freed after; among longer-lived allocations on glibc's heap, freed segments stay
 *   resident. Loading the provider's 4.3 MB bundle left 34 MB on that heap (2 MB in a bare node),
 *   with the threshold 4.6 MB; a provider idled at 146 MB instead of 170, peaked at 194 instead
 *   of 220 over 10,000 tasks, at the same CPU per task (2026-12-07). 65536 did not help.
 * - A provider runs from one bundled file of its code (see providerBundle.ts).
 * The process replaces itself (same pid) with these settings; ones the user set win.
 */
export type NodeRole = 'node' | 'provider'

const V8_FLAGS: Record<NodeRole, readonly string[]> = {
  node: ['--max-semi-space-size=8', '--heap-growing-percent=25'],
  provider: ['--max-semi-space-size=1', '--heap-growing-percent=25', '--no-sparkplug'],
}
const NODE_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '32768' }
/** A node's heap, set from inside the process once it runs (a provider keeps its fixed 25 %: it stays under 150 MB). */
const NODE_HEAP_HEADROOM: HeapHeadroom = { percent: 25, minBytes: 32 * 1024 ** 2 }
/** Set (to anything) in a provider's environment, it runs from the sources instead of its bundle. */
export const FROM_SOURCES = 'CONUN_PROVIDER_FROM_SOURCES'
/** Set in the relaunched process's environment to the role it runs as, so that it does not relaunch again. */
const RELAUNCHED = 'CONUN_NODE_PROCESS'

const relaunchedAs = process.env[RELAUNCHED] as NodeRole | undefined
// Not passed on to programs the node starts (e.g. its GPU process).
delete process.env[RELAUNCHED]

/** `conun node start …`: a node, and a provider with --provide, known from the command line alone. */
export function nodeStartRole (argv: readonly string[]): NodeRole | undefined {
  if (argv[0] !== 'node' || argv[1] !== 'start') return undefined
  return argv.includes('--provide') ? 'provider' : 'node'
}

/**
 * Replaces this process with the same command under the settings of `role`, unless it already
 * runs under them, or under a provider's (or the platform cannot replace a process: then it runs
 * on as it is). A node that turns out to provide (its config.json says so) relaunches once more.
 */
export async function relaunchAs (role: NodeRole): Promise<void> {
  if (relaunchedAs === role || relaunchedAs === 'provider' || typeof process.execve !== 'function') return
  // What an earlier relaunch added is taken out: the user's own flags come after this role's, and win.
  const added = new Set(relaunchedAs === undefined ? [] : V8_FLAGS[relaunchedAs])
  const [script, ...args] = process.argv.slice(1)
  // A provider runs from its bundle (see providerBundle.ts), unless asked to run from the sources
  // (readable stack traces); other programs that start a node keep theirs.
  const bundled = role === 'provider' && process.env[FROM_SOURCES] === undefined && isProviderEntry(script)
  const program = bundled ? await freshBundle() ?? script : script
  process.execve(process.execPath, [process.execPath, ...V8_FLAGS[role], ...process.execArgv.filter(flag => !added.has(flag)), program!, ...args], {
    ...NODE_ENV,
    ...process.env,
    [RELAUNCHED]: role,
  })
}

/** The settings a role takes from inside the process, once relaunched under its flags (see relaunchAs). */
export function applyRoleSettings (): void {
  // A growing percent the user gave (a second one on the command line) is theirs to keep.
  const userPercent = process.execArgv.filter(flag => flag.startsWith('--heap-growing-percent')).length > 1
  if (relaunchedAs === 'node' && !userPercent) keepHeapHeadroom(NODE_HEAP_HEADROOM)
}

function isProviderEntry (script: string | undefined): boolean {
  try {
    return script !== undefined && realpathSync(script) === realpathSync(PROVIDER_BUNDLE.entry)
  } catch {
    return false
  }
}

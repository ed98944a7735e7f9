/**
 * A provider is the program people leave running, so its process is set up to stay small (issue
 * 16), which only the process's own start can do:
 * - `--max-semi-space-size=2` (MB): V8 sizes its young generation for the machine (up to 128 MB
 *   of new space was seen in a provider on a 24 GiB machine) and keeps what a busy provider's
 *   allocation rate (libp2p streams, noise, JSON frames) grew; 2 MB semi-spaces cost no measurable
 *   CPU (more scavenges, each shorter).
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates (libuv's pool, the WASI workers,
 *   V8's helpers) an arena of its own and keeps their freed memory; two arenas are enough here.
 * The process replaces itself (same pid) with these settings; ones the user set win.
 */
const PROVIDER_V8_FLAGS = ['--max-semi-space-size=2']
const PROVIDER_ENV = { MALLOC_ARENA_MAX: '2' }
/** Set in the relaunched process's environment, so that it does not relaunch again. */
const RELAUNCHED = 'CONUN_PROVIDER_PROCESS'

const relaunched = process.env[RELAUNCHED] === '1'
// Not passed on to programs the provider starts (e.g. its GPU process).
delete process.env[RELAUNCHED]

/** `conun node start … --provide …`: known a provider from its command line alone. */
export function isProviderStart (argv: readonly string[]): boolean {
  return argv[0] === 'node' && argv[1] === 'start' && argv.includes('--provide')
}

/**
 * Replaces this process with the same command under the provider's settings, unless it already
 * runs under them (or the platform cannot replace a process: then it runs on as it is).
 */
export function relaunchAsProvider (): void {
  if (relaunched || typeof process.execve !== 'function') return
  process.execve(process.execPath, [process.execPath, ...PROVIDER_V8_FLAGS, ...process.execArgv, ...process.argv.slice(1)], {
    ...PROVIDER_ENV,
    ...process.env,
    [RELAUNCHED]: '1',
  })
}

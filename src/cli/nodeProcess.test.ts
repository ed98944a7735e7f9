import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { FROM_SOURCES, nodeStartRole } from './nodeProcess.ts'
import { PROVIDER_BUNDLE } from './providerBundle.ts'

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url))

/** Runs the CLI; each process that ends reports the flags and malloc settings it ran under. */
async function processesOf (args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--disable-warning=ExperimentalWarning', '--import', 'data:text/javascript,process.on("exit",()=>console.log(JSON.stringify({execArgv:process.execArgv,arenas:process.env.MALLOC_ARENA_MAX,mmapThreshold:process.env.MALLOC_MMAP_THRESHOLD_,script:process.argv[1]})))',
    MAIN, ...args,
  ], { env }).catch((error: { stdout: string }) => error)
  return { stdout, reports: stdout.split('\n').filter(line => line.startsWith('{"execArgv"')).map(line => JSON.parse(line) as { execArgv: string[], arenas?: string, mmapThreshold?: string, script: string }) }
}

describe('node process', () => {
  it('knows a node start, and a provider start, from its command line', () => {
    assert.equal(nodeStartRole(['node', 'start', '--provide', '--cores', '2']), 'provider')
    assert.equal(nodeStartRole(['node', 'start', '--cores', '2']), 'node')
    assert.equal(nodeStartRole(['job', 'run', '--provide']), undefined)
  })

  it('relaunches `node start --provide` under the provider settings, once, and then runs the command', async () => {
    // --help ends the command right after the relaunch; the report shows what the process ran under.
    const { stdout, reports } = await processesOf(['node', 'start', '--provide', '--help'])
    assert.equal(reports.length, 1, 'one process ran the command')
    assert.ok(reports[0]!.execArgv.includes('--max-semi-space-size=1'), JSON.stringify(reports[0]))
    assert.ok(reports[0]!.execArgv.includes('--heap-growing-percent=25'), JSON.stringify(reports[0]))
    assert.ok(reports[0]!.execArgv.includes('--no-sparkplug'), JSON.stringify(reports[0]))
    assert.equal(reports[0]!.arenas, '2')
    assert.equal(reports[0]!.mmapThreshold, '32768')
    assert.equal(reports[0]!.script, PROVIDER_BUNDLE.outfile, 'it ran from the provider\'s bundle')
    assert.match(stdout, /--provide/)
    const fromSources = await processesOf(['node', 'start', '--provide', '--help'], { ...process.env, [FROM_SOURCES]: '1' })
    assert.equal(fromSources.reports.length, 1)
    assert.equal(fromSources.reports[0]!.script, MAIN, 'asked to, it ran from the sources')
    const printed = (output: string) => output.split('\n').filter(line => !line.startsWith('{"execArgv"')).join('\n')
    assert.equal(printed(fromSources.stdout), printed(stdout), 'the same command either way')
  })

  it('relaunches a node under the node settings, and as a provider when its config.json says it provides', async () => {
    const plain = await processesOf(['node', 'start', '--help'])
    assert.equal(plain.reports.length, 1)
    assert.ok(plain.reports[0]!.execArgv.includes('--max-semi-space-size=8'), JSON.stringify(plain.reports[0]))
    assert.ok(plain.reports[0]!.execArgv.includes('--heap-growing-percent=25'), JSON.stringify(plain.reports[0]))
    assert.ok(!plain.reports[0]!.execArgv.includes('--no-sparkplug'), 'a requester keeps V8\'s baseline compiler')
    assert.equal(plain.reports[0]!.arenas, '2')
    assert.equal(plain.reports[0]!.mmapThreshold, '32768')
    assert.equal(plain.reports[0]!.script, MAIN, 'a node that does not provide runs from the sources')
    const dataDir = await mkdtemp(join(tmpdir(), 'conun-node-process-'))
    try {
      await writeFile(join(dataDir, 'config.json'), JSON.stringify({ provide: true }))
      // No passphrase for a key that is not the devnet's: the command stops after the config is read.
      const { reports } = await processesOf(['node', 'start', '--data-dir', dataDir])
      assert.equal(reports.length, 1, 'one process ran the command')
      assert.deepEqual(reports[0]!.execArgv.filter(flag => flag.startsWith('--max-semi-space-size')), ['--max-semi-space-size=1'], 'the provider\'s young generation only')
      assert.deepEqual(reports[0]!.execArgv.filter(flag => flag.startsWith('--heap-growing-percent')), ['--heap-growing-percent=25'], 'the old generation\'s growth once')
      assert.ok(reports[0]!.execArgv.includes('--no-sparkplug'), JSON.stringify(reports[0]))
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})

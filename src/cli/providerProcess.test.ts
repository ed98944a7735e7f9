import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { isProviderStart } from './providerProcess.ts'

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url))

describe('provider process', () => {
  it('knows a provider start from its command line', () => {
    assert.equal(isProviderStart(['node', 'start', '--provide', '--cores', '2']), true)
    assert.equal(isProviderStart(['node', 'start', '--cores', '2']), false)
    assert.equal(isProviderStart(['job', 'run', '--provide']), false)
  })

  it('relaunches `node start --provide` under the provider settings, once, and then runs the command', async () => {
    // --help ends the command right after the relaunch; the report shows what the process ran under.
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--disable-warning=ExperimentalWarning', '--import', 'data:text/javascript,process.on("exit",()=>console.log(JSON.stringify({execArgv:process.execArgv,arenas:process.env.MALLOC_ARENA_MAX})))',
      MAIN, 'node', 'start', '--provide', '--help',
    ])
    const reports = stdout.split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as { execArgv: string[], arenas?: string })
    assert.equal(reports.length, 1, 'one process ran the command')
    assert.ok(reports[0]!.execArgv.includes('--max-semi-space-size=2'), JSON.stringify(reports[0]))
    assert.equal(reports[0]!.arenas, '2')
    assert.match(stdout, /--provide/)
  })
})

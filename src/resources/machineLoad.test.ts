import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLoadSource, onBattery, parseProcStat } from './machineLoad.ts'

const stat = (user: number, system: number, idle: number) => `cpu  ${user} 0 ${system} ${idle} 0 0 0 0 0 0\ncpu0 1 2 3 4\nintr 5\n`

test('/proc/stat: busy and total time of every core, in ms', () => {
  assert.deepEqual(parseProcStat(stat(100, 50, 850)), { busyMs: 1500, totalMs: 10_000 })
  assert.throws(() => parseProcStat('intr 5\n'), /no "cpu" line/)
})

test('foreign load is the machine\'s busy time minus conun\'s own', async () => {
  const readings = [stat(0, 0, 0), stat(600, 0, 400)]
  const own = [0, 2000]
  const sample = createLoadSource({ readStat: () => readings.shift()!, ownCpuMs: () => own.shift()! })
  assert.deepEqual(await sample(), { foreignLoad: 0, ownLoad: 0 }, 'the first reading has nothing to compare with')
  // 10 s of CPU time, 6 s busy, of which conun used 2 s.
  assert.deepEqual(await sample(), { foreignLoad: 0.4, ownLoad: 0.2 })
})

test('battery: discharging with no mains online', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'conun-power-'))
  const supply = async (name: string, files: Record<string, string>) => {
    await mkdir(join(dir, name))
    for (const [file, value] of Object.entries(files)) await writeFile(join(dir, name, file), `${value}\n`)
  }
  try {
    assert.equal(onBattery(join(dir, 'missing')), false, 'no information: not on battery')
    await supply('BAT0', { type: 'Battery', status: 'Discharging' })
    assert.equal(onBattery(dir), true)
    await supply('AC', { type: 'Mains', online: '1' })
    assert.equal(onBattery(dir), false)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

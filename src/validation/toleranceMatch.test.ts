import assert from 'node:assert/strict'
import { it } from 'node:test'
import { storedOutcome, toleranceMatch, toleranceView } from './toleranceMatch.ts'
import type { ToleranceView } from './toleranceMatch.ts'

const compare = { tolerance: { 'v.bin': { type: 'f32' as const, rel: 1e-3 } } }
const view = (own: string, values: number[], shape = 'S'): ToleranceView => ({ own, shape, files: new Map([['v.bin', new Uint8Array(Float32Array.from(values).buffer)]]) })
/** Earlier replicas, each counting as itself. */
const alone = (...views: ToleranceView[]) => views.map(v => ({ outcomeHash: v.own, view: v }))

it('a replica within bounds of an earlier one counts as it; otherwise as itself', () => {
  const first = view('A', [1, 2])
  assert.equal(toleranceMatch(view('B', [1.0005, 2]), alone(first), compare), 'A')
  assert.equal(toleranceMatch(view('C', [1.01, 2]), alone(first), compare), 'C')
})

it('the shape must match: a different exit code, stdout or file size is another outcome', () => {
  assert.equal(toleranceMatch(view('B', [1, 2], 'T'), alone(view('A', [1, 2])), compare), 'B')
})

it('replicas are compared with each group\'s first replica only, so small steps do not chain', () => {
  const first = view('A', [1])
  const second = view('B', [1.0009])
  // The second joined the first's group; a third within bounds of the second only stays apart.
  const earlier = [{ outcomeHash: 'A', view: first }, { outcomeHash: 'A', view: second }]
  assert.equal(toleranceMatch(view('C', [1.0018]), earlier, compare), 'C')
  assert.equal(toleranceMatch(view('D', [0.9995]), earlier, compare), 'A')
})

it('the first agreeing group wins, and replicas without a view are skipped', () => {
  const earlier = [{ outcomeHash: 'X', view: undefined }, ...alone(view('A', [1]), view('B', [1.0008]))]
  assert.equal(toleranceMatch(view('C', [1.0004]), earlier, compare), 'A')
})

it('a view holds the toleranced files, from inline bytes or read, and a replica read back has the same view', async () => {
  const bytes = new Uint8Array(Float32Array.of(1, 2).buffer)
  const outputs = [
    { kind: 'stdout' as const, path: '', cid: 'out', size: 3, inline: new Uint8Array([111, 107, 10]) },
    { kind: 'file' as const, path: 'v.bin', cid: 'big', size: 8 },
    { kind: 'file' as const, path: 'n.txt', cid: 'n', size: 1, inline: new Uint8Array([49]) },
  ]
  const read = async () => bytes
  const result = { status: 'exit' as const, exitCode: 0, stdout: { cid: 'out', inline: Buffer.from('ok\n').toString('base64') }, files: outputs.slice(1).map(({ path, cid, size }) => ({ path, cid, size })) }
  const live = await toleranceView(result, outputs, compare, read)
  assert.deepEqual([...live.files.keys()], ['v.bin'])
  assert.deepEqual(live.files.get('v.bin'), bytes)
  const replica = { attempt: 1, peerId: 'p', address: '0x1', outcomeHash: live.own, status: 'exit' as const, exitCode: 0, reason: null }
  assert.deepEqual(await toleranceView(storedOutcome(replica, outputs), outputs, compare, read), live)
})

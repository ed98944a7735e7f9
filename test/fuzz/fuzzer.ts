// Fuzzing every wire protocol and API route of a real node: random and mutated messages, made from
// valid ones, sent by a real libp2p peer and a real HTTP client. Only messages the node's own
// schemas refuse are sent (a mutation that is still valid is a valid message, not an attack), and
// afterwards nothing may have changed: no job, no task run, no receipt, no offer from the
// attacker, and the node answers as before. Used by test/fuzz.test.ts (a few hundred cases) and
// bench/fuzz.ts (tens of thousands).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { generateNodeKey } from '../../src/identity/index.ts'
import { startDevChain } from '../../src/ledger/index.ts'
import { createOffer } from '../../src/market/index.ts'
import { encodeFrame, hostOptions, MAX_OFFER_FRAME_BYTES, MAX_TASK_FRAME_BYTES, offerMessage, PROTOCOL_OFFER, PROTOCOL_TASK, signBody, SIGNING_DOMAIN, toProvider, TOPIC_OFFERS } from '../../src/net/index.ts'
import { defaultNodeConfig, startNode } from '../../src/node/index.ts'
import { jobSpec } from '../../src/requester/index.ts'
import { seededRandom } from '../../src/util/index.ts'
import { waitFor } from '../helpers.ts'
import type { AgreementProposalBody } from '../../src/net/index.ts'
import type { ZodType } from 'zod'

export type Target = 'offer' | 'task' | 'task-in-session' | 'blocks' | 'gossip' | 'api'
export interface FuzzReport {
  /** Cases the node answered (each counted once in `answers`). */
  readonly cases: number
  readonly byTarget: Record<Target, number>
  /** How the node answered: an error frame, a closed stream, a reply, an HTTP status class. */
  readonly answers: Record<string, number>
  readonly seconds: number
}

/** Seeded, so a failing seed can be run again. */
function prng (seed: number) {
  const next = seededRandom(seed)
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!
  return { next, int, pick }
}
type Rng = ReturnType<typeof prng>

const ODD_VALUES: readonly unknown[] = [
  null, true, false, 0, -1, 1.5, 2 ** 53 + 2, -(2 ** 63), 1e308, '', ' ', 'x'.repeat(5000), '../../etc/passwd', '0x', '0x' + 'f'.repeat(130),
  '\u0000\uffff', '😀', [], {}, [[[[]]]], JSON.parse('{"__proto__":{"polluted":true}}'), { constructor: { prototype: { polluted: true } } },
]

/** A copy of `value` with one random change: a field dropped, replaced, retyped or added. */
export function mutate (value: unknown, rng: Rng, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || (depth > 0 && rng.next() < 0.3)) {
    if (typeof value === 'string' && rng.next() < 0.5) return value.slice(0, rng.int(value.length + 1)) + rng.pick(['', 'A', '\n', '%00', value])
    if (typeof value === 'number' && rng.next() < 0.5) return rng.pick([value + 1, -value, value * 1e9, NaN, value + 0.5])
    return structuredClone(rng.pick(ODD_VALUES))
  }
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) }
  const keys = Object.keys(copy)
  const op = rng.int(4)
  if (keys.length === 0 || op === 0) {
    ;(copy as Record<string, unknown>)[rng.pick(['extra', 'type', 'v', '__proto__', String(keys.length)])] = structuredClone(rng.pick(ODD_VALUES))
  } else if (op === 1) {
    if (Array.isArray(copy)) copy.splice(rng.int(copy.length), 1)
    else delete copy[rng.pick(keys)]
  } else {
    const key = rng.pick(keys)
    ;(copy as Record<string, unknown>)[key] = mutate((copy as Record<string, unknown>)[key], rng, depth + 1)
  }
  return copy
}

/** A mutant the schema refuses (a few tries; falls back to random bytes, which every schema refuses). */
function invalidMutant (template: unknown, schema: ZodType, rng: Rng): Uint8Array {
  for (let i = 0; i < 8; i++) {
    let candidate = mutate(template, rng)
    if (rng.next() < 0.3) candidate = mutate(candidate, rng)
    if (!schema.safeParse(candidate).success) return encodeFrame(candidate)
  }
  return randomBytes(rng, 1 + rng.int(64))
}

function randomBytes (rng: Rng, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => rng.int(256))
}

/** Raw-byte damage to an encoded frame: flipped, cut or padded bytes. */
function damaged (frame: Uint8Array, rng: Rng): Uint8Array {
  const bytes = Uint8Array.from(frame)
  const op = rng.int(3)
  if (op === 0) {
    for (let i = 0; i < 1 + rng.int(4); i++) bytes[rng.int(bytes.length)] = rng.int(256)
    return bytes
  }
  if (op === 1) return bytes.subarray(0, rng.int(bytes.length))
  return Uint8Array.from([...bytes, ...randomBytes(rng, 1 + rng.int(16))])
}

export async function runFuzz (options: { cases: number, seed?: number, log?: (line: string) => void }): Promise<FuzzReport> {
  const rng = prng(options.seed ?? 1)
  const base = await mkdtemp(join(tmpdir(), 'conun-fuzz-'))
  const chain = await startDevChain()
  const chainConfig = { ...defaultNodeConfig().chain, rpcUrl: chain.info.rpcUrl, token: chain.info.token, escrow: chain.info.escrow, deploymentBlock: Number(chain.info.deploymentBlock) }
  const provider = await startNode({ ...defaultNodeConfig(), dataDir: join(base, 'provider'), devnet: true, provide: true, chain: chainConfig }, 'fuzz')
  const requester = await startNode({ ...defaultNodeConfig(), dataDir: join(base, 'requester'), devnet: true, chain: chainConfig, bootstrap: provider.host.getMultiaddrs().map(String) }, 'fuzz')
  const attackerKey = await generateNodeKey()
  const attacker = await createLibp2p(await hostOptions({ privateKey: attackerKey.privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allowPrivateAddresses: true }))
  const token = (await readFile(join(base, 'requester', 'api-token'), 'utf8')).trim()
  const answers: Record<string, number> = {}
  const byTarget: Record<Target, number> = { offer: 0, task: 0, 'task-in-session': 0, blocks: 0, gossip: 0, api: 0 }
  const count = (answer: string) => { answers[answer] = (answers[answer] ?? 0) + 1 }
  const started = performance.now()
  try {
    await attacker.dial(requester.host.getMultiaddrs()[0]!)
    attacker.services.pubsub.subscribe(TOPIC_OFFERS)
    // Gossip published before the requester's subscription is known goes nowhere.
    await waitFor(() => attacker.services.pubsub.getSubscribers(TOPIC_OFFERS).some(peer => peer.equals(requester.host.peerId)), 10_000, 'the requester in the offer topic')
    const providerAddr = provider.host.getMultiaddrs()[0]!

    const proposal = (): AgreementProposalBody => ({
      agreementId: 'a1', jobId: 'j1', chainId: 31337, requester: attackerKey.address, provider: provider.key.address,
      specHash: `0x${'00'.repeat(32)}`, runtime: 'wasi', limits: { memoryBytes: 1 << 20, timeoutMs: 1000, outputBytes: 1 << 20 },
      maxInFlight: 4, pricePerTaskWei: '0', escrow: null, expiresAt: Date.now() + 60_000,
    })
    const signedProposal = () => { const body = proposal(); return { type: 'agreement.propose', v: 3, body, signature: signBody(attackerKey.secret, SIGNING_DOMAIN.agreementProposal, body) } }
    const offer = createOffer(attackerKey, { chainId: 31337, runtimes: ['wasi'], cores: 1, memoryBytes: 1 << 20, cpuModel: 'fuzz', pricePerTaskWei: '0', addrs: [] }, 60_000)
    const templates = {
      offer: [{ type: 'offer.request', v: 1 }, offer],
      task: [signedProposal(), { type: 'task.assign', v: 1, tasks: [{ taskId: '1', attempt: 1, module: { cid: 'bafkreiaaaa', size: 1 }, args: [], env: {}, inputs: [], limits: proposal().limits }] },
        { type: 'task.cancel', v: 1, taskIds: ['1'] },
        { type: 'session.resume', v: 1, agreementId: 'a1', outstanding: [{ taskId: '1', attempt: 1 }] },
        { type: 'session.ping', v: 1, nonce: 1 },
        { type: 'session.end', v: 1 },
        { type: 'task.receipt', v: 3, body: { agreementId: 'a1', jobId: 'j1', chainId: 31337, escrow: chain.info.escrow, requester: `0x${'11'.repeat(20)}`, provider: provider.key.address, cumulativeWei: '1' }, signature: `0x${'22'.repeat(65)}` }],
    }

    /** Sends frames on a new stream; returns how the node answered. */
    const exchange = async (protocol: string, frames: Uint8Array[], maxFrame: number): Promise<string> => {
      const stream = await attacker.dialProtocol(providerAddr, protocol)
      const lp = lpStream(stream, { maxDataLength: maxFrame, maxBufferSize: maxFrame * 2 })
      const writing = (async () => { for (const frame of frames) await lp.write(frame) })().catch(() => {})
      try {
        while (true) {
          const text = new TextDecoder().decode((await lp.read({ signal: AbortSignal.timeout(3000) })).subarray())
          // In a session, the agreement is accepted first; what matters is the answer to what follows.
          if (text.includes('"type":"agreement.accept"') && frames.length > 1) continue
          return text.includes('"type":"error"') ? `error:${/"code":"([^"]+)"/.exec(text)?.[1] ?? '?'}` : `reply:${/"type":"([^"]+)"/.exec(text)?.[1] ?? '?'}`
        }
      } catch (error) {
        return (error as Error).name === 'TimeoutError' ? 'timeout' : 'closed'
      } finally {
        await writing
        stream.abort(new Error('done'))
      }
    }

    const api = async (method: string, path: string, body?: string | Uint8Array, type = 'application/json') => {
      const response = await fetch(`${requester.api.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': type }) }, body })
      await response.arrayBuffer()
      return response.status
    }
    const validSpec = { name: 'fuzz', runtime: 'wasi', module: 'bafkreiaaaa', range: { count: 2, args: ['{i}'] } }
    // (Not POST /v1/content: any bytes are a valid upload.)
    const apiRoutes = ['/v1/jobs', '/v1/jobs/0123456789abcdef', '/v1/jobs/0123456789abcdef/results', '/v1/jobs/0123456789abcdef/cancel', '/v1/content/bafkreiaaaa', '/v1/node', '/v1/peers', '/v1/wallet']

    for (let i = 0; i < options.cases; i++) {
      const target = rng.pick(['offer', 'task', 'task-in-session', 'blocks', 'gossip', 'api'] as const)
      byTarget[target]++
      if (target === 'offer') {
        const frame = rng.next() < 0.2 ? damaged(encodeFrame(rng.pick(templates.offer)), rng) : invalidMutant(rng.pick(templates.offer), offerMessage, rng)
        count(`offer ${await exchange(PROTOCOL_OFFER, [frame], MAX_OFFER_FRAME_BYTES)}`)
      } else if (target === 'task') {
        const frame = rng.next() < 0.2 ? damaged(encodeFrame(rng.pick(templates.task)), rng) : invalidMutant(rng.pick(templates.task), toProvider, rng)
        count(`task ${await exchange(PROTOCOL_TASK, [frame], MAX_TASK_FRAME_BYTES)}`)
      } else if (target === 'task-in-session') {
        // A valid agreement first, then a broken message inside the session.
        const frame = invalidMutant(rng.pick(templates.task.slice(1)), toProvider, rng)
        count(`session ${await exchange(PROTOCOL_TASK, [encodeFrame(signedProposal()), frame], MAX_TASK_FRAME_BYTES)}`)
      } else if (target === 'blocks') {
        const stream = await attacker.dialProtocol(providerAddr, '/conun/blocks/1.0.0')
        const lp = lpStream(stream, { maxDataLength: 4 * 1024 * 1024 })
        await lp.write(randomBytes(rng, rng.int(300))).catch(() => {})
        const answer = await lp.read({ signal: AbortSignal.timeout(3000) }).then(reply => reply.subarray()[0] === 0 ? 'missing' : 'found', () => 'closed')
        stream.abort(new Error('done'))
        count(`blocks ${answer}`)
      } else if (target === 'gossip') {
        const message = rng.next() < 0.5 ? invalidMutant(offer, offerMessage, rng) : damaged(encodeFrame(offer), rng)
        const sent = await attacker.services.pubsub.publish(TOPIC_OFFERS, message).then(result => result.recipients.length > 0, () => false)
        count(sent ? 'gossip published' : 'gossip unsent')
      } else {
        const route = rng.pick(apiRoutes)
        const method = rng.pick(['GET', 'POST', 'PUT', 'DELETE'])
        let body: string | Uint8Array | undefined
        if (method === 'POST' || method === 'PUT') {
          let spec = mutate(validSpec, rng)
          for (let tries = 0; jobSpec.safeParse(spec).success && tries < 8; tries++) spec = mutate(spec, rng)
          body = rng.next() < 0.8 && !jobSpec.safeParse(spec).success ? JSON.stringify(spec) : randomBytes(rng, rng.int(200))
        }
        const path = rng.next() < 0.3 ? route.replace(/[0-9a-f]{16}|bafk\w+/, rng.pick(['..%2F..', 'x'.repeat(300), '%00', '-1', 'bafy', ''])) : route
        const status = await api(method, path, body, rng.pick(['application/json', 'application/octet-stream', 'text/plain']))
        if (status >= 500) throw new Error(`${method} ${path} answered ${status}`)
        count(`api ${Math.floor(status / 100)}xx`)
      }
      if ((i + 1) % 1000 === 0) options.log?.(`${i + 1} cases`)
    }

    // A valid offer gossiped last arrives after every fuzzed one (Docker only: it serves nothing).
    const markerKey = await generateNodeKey()
    await attacker.services.pubsub.publish(TOPIC_OFFERS, encodeFrame(createOffer(markerKey, { chainId: 31337, runtimes: ['docker'], cores: 1, memoryBytes: 1 << 20, cpuModel: 'fuzz', pricePerTaskWei: '0', addrs: [] }, 60_000)))
    await waitFor(() => requester.offers.get(markerKey.peerId.toString()) !== undefined, 10_000, 'the offer gossiped after the fuzzed ones')
    // Nothing an invalid message said may have changed anything.
    const problems: string[] = []
    if (requester.requester.jobs().length > 0) problems.push('a job was created')
    const status = provider.provider!.status()
    if (status.completed + status.failed + status.running + status.queued > 0) problems.push(`the provider ran tasks: ${JSON.stringify(status)}`)
    if (requester.offers.get(attackerKey.peerId.toString()) !== undefined) problems.push('an offer of the attacker entered the offer book')
    const providerToken = (await readFile(join(base, 'provider', 'api-token'), 'utf8')).trim()
    const providerWallet = await fetch(`${provider.api.url}/v1/wallet`, { headers: { authorization: `Bearer ${providerToken}` } }).then(async r => r.json() as Promise<{ receipts: unknown[] }>)
    if (providerWallet.receipts.length > 0) problems.push('the provider stored a receipt')
    if ((await api('GET', '/v1/node')) !== 200) problems.push('the API stopped answering')
    if (problems.length > 0) throw new Error(`fuzzing changed the node: ${problems.join('; ')}`)
    return { cases: Object.values(answers).reduce((sum, n) => sum + n, 0), byTarget, answers, seconds: (performance.now() - started) / 1000 }
  } finally {
    await attacker.stop()
    await requester.stop()
    await provider.stop()
    await chain.close()
    await rm(base, { recursive: true, force: true })
  }
}

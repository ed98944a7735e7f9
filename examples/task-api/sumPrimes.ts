/**
 * The Task API in one file: count the primes below a bound on a local grid. `map` runs one task per
 * range (the module is AssemblyScript source, compiled by the SDK) and yields counts as they
 * complete; `mapReduce` does the same and sums the counts on the grid, by CID, in a tree of reduces.
 *
 *   node examples/task-api/sumPrimes.ts [bound]        (default 10000000)
 */
import { startLocalGrid } from '../../src/devnet/index.ts'
import { map, mapReduce } from '../../src/sdk/index.ts'
import { primeRanges, primeTaskArgs } from '../primes/primes.ts'

const bound = Number(process.argv[2] ?? 10_000_000)
const primes = new URL('../primes/assembly/primes.ts', import.meta.url).pathname
const sumNumbers = new URL('assembly/sumNumbers.ts', import.meta.url).pathname
const grid = await startLocalGrid({ providers: 2, coresPerProvider: 2 })
try {
  const client = grid.requester.client // elsewhere: await ConunClient.fromDataDir('.conun')
  const ranges = primeRanges(bound, 50)

  let counted = 0
  for await (const result of map(client, ranges, {
    runtime: 'wasi', module: primes, limits: { timeoutMs: 30_000 },
    task: range => ({ args: primeTaskArgs(range) }),
    onProgress: p => process.stderr.write(`\r${p.done}/${p.total} tasks done`),
  })) counted += Number(Buffer.from(result.stdout).toString())
  console.log(`\nmap, summed here: ${counted} primes below ${bound}`)

  const total = await mapReduce(client, ranges, {
    map: { runtime: 'wasi', module: primes, task: range => ({ args: primeTaskArgs(range) }) },
    reduce: { runtime: 'wasi', module: sumNumbers, fanIn: 8 },
  })
  console.log(`mapReduce, summed on the grid: ${Buffer.from(await total.bytes()).toString().trim()} (CID ${total.cid})`)
} finally {
  await grid.stop()
}

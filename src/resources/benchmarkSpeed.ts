/**
 * A quick single-core speed score for offers: a sieve of Eratosthenes over 2 million numbers, best
 * of three runs (about 10–30 ms in all), in millions of numbers sieved per second. It compares
 * machines roughly, not precisely; requesters use it as a floor (`constraints.minSpeed`).
 */
const SIEVE_SIZE = 2_000_000
const PRIMES_BELOW_SIEVE_SIZE = 148_933

export function benchmarkSpeed (): number {
  let bestMs = Number.POSITIVE_INFINITY
  for (let run = 0; run < 3; run++) {
    const started = performance.now()
    // Checking the answer keeps the work from being optimised away (and a broken machine from scoring).
    if (sieve(SIEVE_SIZE) !== PRIMES_BELOW_SIEVE_SIZE) throw new Error('the speed benchmark computed a wrong answer')
    bestMs = Math.min(bestMs, performance.now() - started)
  }
  return Math.round(SIEVE_SIZE / 1000 / Math.max(bestMs, 0.001))
}

function sieve (size: number): number {
  const composite = new Uint8Array(size)
  let primes = 0
  for (let i = 2; i < size; i++) {
    if (composite[i] === 1) continue
    primes++
    for (let j = i * i; j < size; j += i) composite[j] = 1
  }
  return primes
}

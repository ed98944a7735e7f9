// Counts the primes in [from, to) and prints the count as one decimal line on stdout.
//
//   primes --from A --to B        (0 <= A <= B <= 2^53)
//
// A segmented sieve of Eratosthenes over odd numbers: the odd primes up to sqrt(B) are found
// once (a bit sieve), then [A, B) is sieved in cache-sized segments. 10^7 numbers take a few tens
// of milliseconds. The bound 2^53 keeps every count and bound exact as a JavaScript number and
// the base primes' memory under ~30 MB.
//
// AssemblyScript, compiled with @assemblyscript/wasi-shim (see scripts/build-examples.ts).

const MAX_BOUND: u64 = 9007199254740992; // 2^53
/** Odd numbers per segment: 256 KiB of sieve bytes, which stays in a typical L2 cache. */
const SEGMENT: i32 = 1 << 18;
const USAGE = "usage: primes --from A --to B   (0 <= A <= B <= 2^53)";

function fail(message: string): void {
  process.stderr.write("primes: " + message + "\n");
  process.exit(2);
}

function parseU64(name: string, text: string): u64 {
  if (text.length == 0 || text.length > 16) fail(name + " must be an integer in 0..2^53, got \"" + text + "\"");
  let v: u64 = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) fail(name + " must be an integer in 0..2^53, got \"" + text + "\"");
    v = v * 10 + <u64>(c - 48);
  }
  if (v > MAX_BOUND) fail(name + " must be at most 2^53 = " + MAX_BOUND.toString() + ", got " + text);
  return v;
}

/** floor(sqrt(n)) for n <= 2^53. */
function isqrt(n: u64): u64 {
  let r = <u64>Math.sqrt(<f64>n);
  while (r > 0 && r * r > n) r--;
  while ((r + 1) * (r + 1) <= n) r++;
  return r;
}

/** The odd primes <= limit, ascending. */
function oddPrimesUpTo(limit: u64): StaticArray<u32> {
  if (limit < 3) return new StaticArray<u32>(0);
  // Bit i stands for 2i + 1; a set bit means composite.
  const bits = <usize>(limit / 2 + 1);
  const words = new StaticArray<u32>(<i32>((bits + 31) >> 5));
  const sq = isqrt(limit);
  for (let p: u64 = 3; p <= sq; p += 2) {
    const ip = <usize>(p >> 1);
    if (unchecked(words[<i32>(ip >> 5)]) & (1 << <u32>(ip & 31))) continue;
    for (let m = <usize>((p * p) >> 1); m < bits; m += <usize>p) {
      unchecked(words[<i32>(m >> 5)] |= 1 << <u32>(m & 31));
    }
  }
  let count = 0;
  for (let i: usize = 1; i < bits; i++) {
    if (!(unchecked(words[<i32>(i >> 5)]) & (1 << <u32>(i & 31))) && (<u64>i * 2 + 1) <= limit) count++;
  }
  const primes = new StaticArray<u32>(count);
  let k = 0;
  for (let i: usize = 1; i < bits; i++) {
    if (!(unchecked(words[<i32>(i >> 5)]) & (1 << <u32>(i & 31))) && (<u64>i * 2 + 1) <= limit) {
      unchecked(primes[k++] = <u32>(i * 2 + 1));
    }
  }
  return primes;
}

function countPrimes(from: u64, to: u64): u64 {
  let count: u64 = 0;
  if (from <= 2 && to > 2) count++;
  // Odd numbers lo, lo + 2, … below `to`; 1 is not prime, so start at 3.
  let lo = from < 3 ? <u64>3 : from | 1;
  if (lo >= to) return count;
  const primes = oddPrimesUpTo(isqrt(to - 1));
  const sieve = new StaticArray<u8>(SEGMENT);
  const base = changetype<usize>(sieve);
  while (lo < to) {
    // This segment holds the odd numbers lo + 2j for 0 <= j < len.
    const len = <i32>min<u64>(<u64>SEGMENT, (to - lo + 1) >> 1);
    const last = lo + 2 * <u64>(len - 1);
    memory.fill(base, 0, <usize>len);
    for (let k = 0; k < primes.length; k++) {
      const p = <u64>unchecked(primes[k]);
      const pp = p * p;
      if (pp > last) break;
      // First odd multiple of p that is >= max(lo, p²).
      let m: u64;
      if (pp >= lo) {
        m = pp;
      } else {
        m = (lo + p - 1) / p * p;
        if ((m & 1) == 0) m += p;
      }
      const step = <usize>p;
      for (let j = <usize>((m - lo) >> 1); j < <usize>len; j += step) store<u8>(base + j, 1);
    }
    let zeros = 0;
    for (let j = 0; j < len; j++) zeros += 1 - <i32>load<u8>(base + <usize>j);
    count += <u64>zeros;
    lo = last + 2;
  }
  return count;
}

// ---- main ----

const argv = process.argv;
let from: u64 = 0, to: u64 = 0;
let haveFrom = false, haveTo = false;
for (let i = 1; i < argv.length; i++) {
  const a = argv[i];
  if (a == "--help" || a == "-h") { process.stdout.write(USAGE + "\n"); process.exit(0); }
  if (i + 1 >= argv.length) fail("missing value after " + a + "\n" + USAGE);
  const v = argv[++i];
  if (a == "--from") { from = parseU64(a, v); haveFrom = true; }
  else if (a == "--to") { to = parseU64(a, v); haveTo = true; }
  else fail("unknown option " + a + "\n" + USAGE);
}
if (!haveFrom || !haveTo) fail("missing options\n" + USAGE);
if (from > to) fail("--from " + from.toString() + " is greater than --to " + to.toString());

process.stdout.write(countPrimes(from, to).toString() + "\n");

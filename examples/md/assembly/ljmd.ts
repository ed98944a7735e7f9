// Molecular dynamics of a Lennard-Jones fluid: independent trajectories, one seed each.
//
//   ljmd --seed S [--trajectories 1] [--particles 256] [--density 0.8] [--temperature 2] [--cutoff 2.5]
//        [--dt 0.005] [--equilibration 1000] [--production 8000]
//
// Reduced units (σ = ε = m = k_B = 1). N particles (N = 4k³, started on an fcc lattice) in a
// periodic cubic box at density RHO; the pair potential is cut at RC and shifted to zero there, so
// the energy the dynamics conserves is continuous. Velocity Verlet with a Verlet neighbour list
// (skin 0.4, rebuilt when a particle may have crossed half of it). Equilibration: velocities
// rescaled to T every step; production: plain NVE. Initial velocities are uniform random from the
// seed (splitmix64), so trajectories differ only by seed, and the same seed gives the same bits.
//
// Prints one JSON line per trajectory on stdout (seeds S, S+1, …, S+C−1): averages over the
// production run of the temperature (3N − 3 degrees of freedom), the potential energy per
// particle and the pressure — both of the full, untruncated potential: the pairs inside RC plus
// the standard long-range corrections, which take g(r) = 1 beyond RC — the conserved energy per
// particle (kinetic plus the shifted potential), its drift (least-squares slope over the
// production run, in ε per particle per unit time) and RMS fluctuation, and a hash of the final
// positions and velocities. stdout holds
// nothing else, so replicas of a task agree byte for byte; the timing goes to stderr.
//
// AssemblyScript, compiled with @assemblyscript/wasi-shim (see scripts/build-examples.ts).

import { parseIntArg } from "../../lib/assembly/wasiFiles";

const USAGE = "usage: ljmd --seed S [--trajectories C] [--particles N] [--density RHO] [--temperature T] [--cutoff RC]\n" +
  "            [--dt DT] [--equilibration STEPS] [--production STEPS]";
const SKIN: f64 = 0.4;
const MAX_CELLS: i32 = 8; // N = 4k³ up to 2048 particles
const MAX_STEPS: i32 = 100000000;
const MAX_TRAJECTORIES: i32 = 10000;

function fail(message: string, code: i32 = 2): void {
  process.stderr.write("ljmd: " + message + "\n");
  process.exit(code);
}

// ---- arguments ----

/** Whether text is a decimal number: digits with an optional fraction and exponent ("0.8", "5e-3"). */
function isDecimal(text: string): bool {
  let i = 0;
  let digits = 0;
  while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) { i++; digits++; }
  if (i < text.length && text.charCodeAt(i) == 46) {
    i++;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) { i++; digits++; }
  }
  if (digits == 0) return false;
  if (i < text.length && (text.charCodeAt(i) == 101 || text.charCodeAt(i) == 69)) {
    i++;
    if (i < text.length && (text.charCodeAt(i) == 45 || text.charCodeAt(i) == 43)) i++;
    const start = i;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    if (i == start) return false;
  }
  return i == text.length;
}

/** A decimal number in (min, max]. */
function parseReal(name: string, text: string, min: f64, max: f64): f64 {
  const v = text.length < 32 && isDecimal(text) ? parseFloat(text) : NaN;
  if (!isFinite(v) || !(v > min && v <= max)) fail(name + " must be a number in (" + min.toString() + ", " + max.toString() + "], got \"" + text + "\"");
  return v;
}

// ---- random numbers ----

let rngState: u64 = 0;

/** splitmix64 (Steele, Lea & Flood 2014): a fixed function of the seed on every engine. */
function nextU64(): u64 {
  rngState += 0x9E3779B97F4A7C15;
  let z = rngState;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
  return z ^ (z >> 31);
}

/** Uniform in [0, 1), 53 bits. */
function uniform(): f64 {
  return <f64>(nextU64() >> 11) * (1.0 / 9007199254740992.0);
}

// ---- the system ----

class Fluid {
  n: i32;
  box: f64;
  half: f64;
  rc2: f64;
  /** The potential at RC, subtracted from every pair inside it. */
  shift: f64;
  x: StaticArray<f64>; y: StaticArray<f64>; z: StaticArray<f64>;
  vx: StaticArray<f64>; vy: StaticArray<f64>; vz: StaticArray<f64>;
  fx: StaticArray<f64>; fy: StaticArray<f64>; fz: StaticArray<f64>;
  /** Positions when the neighbour list was built. */
  x0: StaticArray<f64>; y0: StaticArray<f64>; z0: StaticArray<f64>;
  /** Pairs j > i within RC + skin of i: neighbours[first[i] .. first[i + 1]). */
  first: StaticArray<i32>;
  neighbours: StaticArray<i32>;
  rebuilds: i32 = 0;
  /** Shifted potential energy, virial Σ r·F, and pairs inside RC, of the last force evaluation. */
  potential: f64 = 0;
  virial: f64 = 0;
  pairs: i32 = 0;

  constructor(n: i32, box: f64, cutoff: f64) {
    this.n = n;
    this.box = box;
    this.half = box / 2;
    const rc2 = cutoff * cutoff;
    const ri6 = 1.0 / (rc2 * rc2 * rc2);
    this.rc2 = rc2;
    this.shift = 4.0 * ri6 * (ri6 - 1.0);
    this.x = new StaticArray<f64>(n); this.y = new StaticArray<f64>(n); this.z = new StaticArray<f64>(n);
    this.vx = new StaticArray<f64>(n); this.vy = new StaticArray<f64>(n); this.vz = new StaticArray<f64>(n);
    this.fx = new StaticArray<f64>(n); this.fy = new StaticArray<f64>(n); this.fz = new StaticArray<f64>(n);
    this.x0 = new StaticArray<f64>(n); this.y0 = new StaticArray<f64>(n); this.z0 = new StaticArray<f64>(n);
    this.first = new StaticArray<i32>(n + 1);
    this.neighbours = new StaticArray<i32>(n * (n - 1) / 2);
  }

  /** The nearest periodic image of a coordinate difference in (−box, box). */
  @inline image(d: f64): f64 {
    if (d > this.half) return d - this.box;
    if (d < -this.half) return d + this.box;
    return d;
  }

  buildNeighbours(): void {
    const n = this.n;
    const rl = sqrt(this.rc2) + SKIN;
    const rl2 = rl * rl;
    let k = 0;
    for (let i = 0; i < n; i++) {
      unchecked(this.first[i] = k);
      const xi = unchecked(this.x[i]), yi = unchecked(this.y[i]), zi = unchecked(this.z[i]);
      for (let j = i + 1; j < n; j++) {
        const dx = this.image(xi - unchecked(this.x[j]));
        const dy = this.image(yi - unchecked(this.y[j]));
        const dz = this.image(zi - unchecked(this.z[j]));
        if (dx * dx + dy * dy + dz * dz < rl2) unchecked(this.neighbours[k++] = j);
      }
    }
    this.first[n] = k;
    for (let i = 0; i < n; i++) {
      unchecked(this.x0[i] = this.x[i]);
      unchecked(this.y0[i] = this.y[i]);
      unchecked(this.z0[i] = this.z[i]);
    }
    this.rebuilds++;
  }

  /** Whether some particle has moved half the skin since the list was built: then a pair may be missing. */
  listIsStale(): bool {
    const limit = (SKIN / 2) * (SKIN / 2);
    for (let i = 0; i < this.n; i++) {
      const dx = this.image(unchecked(this.x[i]) - unchecked(this.x0[i]));
      const dy = this.image(unchecked(this.y[i]) - unchecked(this.y0[i]));
      const dz = this.image(unchecked(this.z[i]) - unchecked(this.z0[i]));
      if (dx * dx + dy * dy + dz * dz > limit) return true;
    }
    return false;
  }

  computeForces(): void {
    const n = this.n;
    for (let i = 0; i < n; i++) {
      unchecked(this.fx[i] = 0);
      unchecked(this.fy[i] = 0);
      unchecked(this.fz[i] = 0);
    }
    let u = 0.0, w = 0.0;
    let pairs = 0;
    const rc2 = this.rc2;
    for (let i = 0; i < n; i++) {
      const xi = unchecked(this.x[i]), yi = unchecked(this.y[i]), zi = unchecked(this.z[i]);
      let fxi = 0.0, fyi = 0.0, fzi = 0.0;
      const end = unchecked(this.first[i + 1]);
      for (let k = unchecked(this.first[i]); k < end; k++) {
        const j = unchecked(this.neighbours[k]);
        const dx = this.image(xi - unchecked(this.x[j]));
        const dy = this.image(yi - unchecked(this.y[j]));
        const dz = this.image(zi - unchecked(this.z[j]));
        const r2 = dx * dx + dy * dy + dz * dz;
        if (r2 >= rc2) continue;
        const ri2 = 1.0 / r2;
        const ri6 = ri2 * ri2 * ri2;
        const rf = 48.0 * ri6 * (ri6 - 0.5); // r·F
        const ff = rf * ri2;
        fxi += ff * dx; fyi += ff * dy; fzi += ff * dz;
        unchecked(this.fx[j] -= ff * dx);
        unchecked(this.fy[j] -= ff * dy);
        unchecked(this.fz[j] -= ff * dz);
        u += 4.0 * ri6 * (ri6 - 1.0);
        w += rf;
        pairs++;
      }
      unchecked(this.fx[i] += fxi);
      unchecked(this.fy[i] += fyi);
      unchecked(this.fz[i] += fzi);
    }
    this.potential = u - <f64>pairs * this.shift;
    this.virial = w;
    this.pairs = pairs;
  }

  kinetic(): f64 {
    let k = 0.0;
    for (let i = 0; i < this.n; i++) {
      const a = unchecked(this.vx[i]), b = unchecked(this.vy[i]), c = unchecked(this.vz[i]);
      k += a * a + b * b + c * c;
    }
    return 0.5 * k;
  }

  scaleVelocities(factor: f64): void {
    for (let i = 0; i < this.n; i++) {
      unchecked(this.vx[i] *= factor);
      unchecked(this.vy[i] *= factor);
      unchecked(this.vz[i] *= factor);
    }
  }

  @inline wrap(c: f64): f64 {
    if (c >= this.box) return c - this.box;
    if (c < 0) return c + this.box;
    return c;
  }

  /** One velocity Verlet step. */
  step(dt: f64): void {
    const h = 0.5 * dt;
    for (let i = 0; i < this.n; i++) {
      unchecked(this.vx[i] += h * this.fx[i]);
      unchecked(this.vy[i] += h * this.fy[i]);
      unchecked(this.vz[i] += h * this.fz[i]);
      unchecked(this.x[i] = this.wrap(this.x[i] + dt * this.vx[i]));
      unchecked(this.y[i] = this.wrap(this.y[i] + dt * this.vy[i]));
      unchecked(this.z[i] = this.wrap(this.z[i] + dt * this.vz[i]));
    }
    if (this.listIsStale()) this.buildNeighbours();
    this.computeForces();
    for (let i = 0; i < this.n; i++) {
      unchecked(this.vx[i] += h * this.fx[i]);
      unchecked(this.vy[i] += h * this.fy[i]);
      unchecked(this.vz[i] += h * this.fz[i]);
    }
  }

  /** FNV-1a over the bits of every position and velocity: equal hashes, equal final states. */
  stateHash(): string {
    let hash: u64 = 0xCBF29CE484222325;
    const arrays = [this.x, this.y, this.z, this.vx, this.vy, this.vz];
    for (let a = 0; a < arrays.length; a++) {
      const values = arrays[a];
      for (let i = 0; i < this.n; i++) {
        let bits = reinterpret<u64>(unchecked(values[i]));
        for (let b = 0; b < 8; b++) {
          hash = (hash ^ (bits & 0xFF)) * 0x100000001B3;
          bits >>= 8;
        }
      }
    }
    let hex = hash.toString(16);
    while (hex.length < 16) hex = "0" + hex;
    return hex;
  }
}

/** An fcc lattice filling the box; uniform random velocities with no net momentum, scaled to T. */
function initialise(fluid: Fluid, cells: i32, temperature: f64): void {
  const a = fluid.box / <f64>cells;
  const basis: f64[] = [0, 0, 0, 0.5, 0.5, 0, 0.5, 0, 0.5, 0, 0.5, 0.5];
  let p = 0;
  for (let i = 0; i < cells; i++) {
    for (let j = 0; j < cells; j++) {
      for (let k = 0; k < cells; k++) {
        for (let b = 0; b < 4; b++) {
          fluid.x[p] = a * (<f64>i + basis[3 * b] + 0.25);
          fluid.y[p] = a * (<f64>j + basis[3 * b + 1] + 0.25);
          fluid.z[p] = a * (<f64>k + basis[3 * b + 2] + 0.25);
          p++;
        }
      }
    }
  }
  let px = 0.0, py = 0.0, pz = 0.0;
  for (let i = 0; i < fluid.n; i++) {
    fluid.vx[i] = uniform() - 0.5; px += fluid.vx[i];
    fluid.vy[i] = uniform() - 0.5; py += fluid.vy[i];
    fluid.vz[i] = uniform() - 0.5; pz += fluid.vz[i];
  }
  const n = <f64>fluid.n;
  for (let i = 0; i < fluid.n; i++) {
    fluid.vx[i] -= px / n;
    fluid.vy[i] -= py / n;
    fluid.vz[i] -= pz / n;
  }
  fluid.scaleVelocities(sqrt(temperature / temperatureOf(fluid)));
  fluid.buildNeighbours();
  fluid.computeForces();
}

/** Kinetic temperature with 3N − 3 degrees of freedom (the total momentum is zero). */
function temperatureOf(fluid: Fluid): f64 {
  return 2.0 * fluid.kinetic() / <f64>(3 * fluid.n - 3);
}

// ---- a trajectory ----

class Settings {
  cells: i32 = 4;
  density: f64 = 0.8;
  temperature: f64 = 2.0;
  cutoff: f64 = 2.5;
  dt: f64 = 0.005;
  equilibration: i32 = 1000;
  production: i32 = 8000;
}

function runTrajectory(seed: u64, s: Settings): string {
  rngState = seed;
  const n = 4 * s.cells * s.cells * s.cells;
  const volume = <f64>n / s.density;
  const box = Math.cbrt(volume);
  if (s.cutoff + SKIN > box / 2) fail("--cutoff " + s.cutoff.toString() + " plus the skin " + SKIN.toString() + " exceeds half the box (" + (box / 2).toString() + "): use more particles or a shorter cutoff");
  const fluid = new Fluid(n, box, s.cutoff);
  initialise(fluid, s.cells, s.temperature);

  for (let t = 0; t < s.equilibration; t++) {
    fluid.step(s.dt);
    fluid.scaleVelocities(sqrt(s.temperature / temperatureOf(fluid)));
  }

  // Long-range corrections per particle (energy) and for the pressure, for g(r) = 1 beyond RC.
  const ri3 = 1.0 / (s.cutoff * s.cutoff * s.cutoff);
  const ri9 = ri3 * ri3 * ri3;
  const energyTail = (8.0 / 3.0) * Math.PI * s.density * (ri9 / 3.0 - ri3);
  const pressureTail = (16.0 / 3.0) * Math.PI * s.density * s.density * ((2.0 / 3.0) * ri9 - ri3);
  const nf = <f64>n;
  let sumT = 0.0, sumU = 0.0, sumP = 0.0, sumE = 0.0, sumE2 = 0.0, sumTE = 0.0;
  const steps = s.production;
  for (let t = 0; t < steps; t++) {
    fluid.step(s.dt);
    const kinetic = fluid.kinetic();
    const e = (kinetic + fluid.potential) / nf;
    sumT += 2.0 * kinetic / <f64>(3 * n - 3);
    sumU += (fluid.potential + <f64>fluid.pairs * fluid.shift) / nf + energyTail;
    sumP += (2.0 * kinetic + fluid.virial) / (3.0 * volume) + pressureTail;
    sumE += e;
    sumE2 += e * e;
    sumTE += <f64>t * e;
  }
  const m = <f64>steps;
  const meanE = sumE / m;
  // Least-squares slope of E against the step index t = 0 … m − 1, per unit time.
  const meanT = (m - 1) / 2;
  const varT = (m * m - 1) / 12;
  const slope = (sumTE / m - meanT * meanE) / varT;
  const rms = sqrt(max(0.0, sumE2 / m - meanE * meanE));
  return "{\"seed\":" + seed.toString() + ",\"particles\":" + n.toString() + ",\"density\":" + s.density.toString() +
    ",\"targetTemperature\":" + s.temperature.toString() + ",\"cutoff\":" + s.cutoff.toString() + ",\"dt\":" + s.dt.toString() +
    ",\"equilibrationSteps\":" + s.equilibration.toString() + ",\"productionSteps\":" + steps.toString() +
    ",\"temperature\":" + (sumT / m).toString() + ",\"potentialEnergy\":" + (sumU / m).toString() +
    ",\"pressure\":" + (sumP / m).toString() + ",\"energy\":" + meanE.toString() +
    ",\"energyDrift\":" + (slope / s.dt).toString() + ",\"energyRms\":" + rms.toString() +
    ",\"neighbourRebuilds\":" + fluid.rebuilds.toString() + ",\"state\":\"" + fluid.stateHash() + "\"}\n";
}

// ---- main ----

const argv = process.argv;
const settings = new Settings();
let seed: u64 = 0;
let haveSeed = false;
let trajectories = 1;
for (let i = 1; i < argv.length; i++) {
  const a = argv[i];
  if (a == "--help" || a == "-h") { process.stdout.write(USAGE + "\n"); process.exit(0); }
  if (i + 1 >= argv.length) fail("missing value after " + a + "\n" + USAGE);
  const v = argv[++i];
  if (a == "--seed") { seed = <u64>parseIntArg(a, v, 0, 999999999999999999, fail); haveSeed = true; }
  else if (a == "--trajectories") trajectories = <i32>parseIntArg(a, v, 1, MAX_TRAJECTORIES, fail);
  else if (a == "--particles") {
    const n = <i32>parseIntArg(a, v, 1, 4 * MAX_CELLS * MAX_CELLS * MAX_CELLS, fail);
    let k = 2;
    while (4 * k * k * k < n) k++;
    if (4 * k * k * k != n) fail("--particles must be 4k³ (an fcc lattice), k = 2.." + MAX_CELLS.toString() + ": 32, 108, 256, 500, 864, 1372 or 2048; got " + v);
    settings.cells = k;
  }
  else if (a == "--density") settings.density = parseReal(a, v, 0, 1.2);
  else if (a == "--temperature") settings.temperature = parseReal(a, v, 0, 100);
  else if (a == "--cutoff") settings.cutoff = parseReal(a, v, 1, 10);
  else if (a == "--dt") settings.dt = parseReal(a, v, 0, 0.05);
  else if (a == "--equilibration") settings.equilibration = <i32>parseIntArg(a, v, 0, MAX_STEPS, fail);
  else if (a == "--production") settings.production = <i32>parseIntArg(a, v, 2, MAX_STEPS, fail);
  else fail("unknown option " + a + "\n" + USAGE);
}
if (!haveSeed) fail("give --seed\n" + USAGE);
const started = performance.now();
for (let t = 0; t < trajectories; t++) process.stdout.write(runTrajectory(seed + <u64>t, settings));
const seconds = (performance.now() - started) / 1000.0;
const n = 4 * settings.cells * settings.cells * settings.cells;
process.stderr.write("{\"trajectories\":" + trajectories.toString() + ",\"particles\":" + n.toString() + ",\"steps\":" +
  (<i64>trajectories * <i64>(settings.equilibration + settings.production)).toString() + ",\"seconds\":" + seconds.toString() + "}\n");

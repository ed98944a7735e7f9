// The CLI through the real binary: help, clear errors with non-zero exits, JSON that parses.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startLocalGrid } from '../src/devnet/index.ts'
import { buildWasiFixture } from '../src/runtime/wasi/fixtures/buildFixtures.ts'
import { BIN, conun, tempDir, waitFor } from './helpers.ts'
import { encryptKeystore, generateNodeKey, writeKeystore } from '../src/identity/index.ts'
import { DEVNET_PASSPHRASE } from '../src/node/index.ts'

const COMMANDS = [['node', 'start'], ['node', 'status'], ['peers'], ['job', 'run'], ['job', 'status'], ['job', 'results'], ['job', 'list'], ['job', 'cancel'],
  ['wallet', 'address'], ['wallet', 'balance'], ['wallet', 'transfer'], ['wallet', 'withdraw'], ['wallet', 'export'], ['wallet', 'import'], ['wallet', 'faucet']]

test('every command has --help', async () => {
  const top = await conun(['--help'])
  assert.equal(top.code, 0)
  for (const command of COMMANDS) {
    const { code, stdout } = await conun([...command, '--help'])
    assert.equal(code, 0, command.join(' '))
    assert.match(stdout, new RegExp(`^Usage: conun ${command.join(' ')}`), command.join(' '))
  }
})

test('bad flags and unknown commands are usage errors (exit 2)', async () => {
  const unknown = await conun(['job', 'explode'])
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /unknown command/)
  const flag = await conun(['node', 'start', '--cores', 'many'])
  assert.equal(flag.code, 2)
  assert.match(flag.stderr, /--cores must be a whole number/)
  const extra = await conun(['peers', '--frobnicate'])
  assert.equal(extra.code, 2)
  assert.match(extra.stderr, /Unknown option '--frobnicate'/)
  // The chain flags: a fee cap and confirmations must be numbers; deploy needs an RPC URL and a token address.
  for (const [args, message] of [
    [['node', 'start', '--max-fee', 'cheap'], /--max-fee must be a positive number of gwei/],
    [['node', 'start', '--confirmations', '300'], /--confirmations must be a whole number from 0 to 256/],
    [['node', 'start', '--chain', 'chain.json', '--escrow', `0x${'2'.repeat(40)}`], /--chain names the contracts: give it without --token and --escrow/],
    [['chain', 'deploy'], /--rpc is required/],
    [['chain', 'deploy', '--rpc', 'ftp://x'], /--rpc must be an http\(s\) URL/],
    [['chain', 'deploy', '--rpc', 'http://127.0.0.1:9', '--token', '0x1'], /--token must be a contract address/],
    [['chain', 'show', 'a.json', 'b.json'], /unexpected argument "b\.json"/],
  ] as const) {
    const bad = await conun([...args])
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`)
    assert.match(bad.stderr, message)
  }
  // Addresses are checked before anything starts, with a message that names the flag's key.
  for (const [flag, value, message] of [['--listen', 'foo', /listen\.0: not a multiaddr/], ['--announce', '/ip4/1.2.3', /network\.announce\.0: not a multiaddr/], ['--bootstrap', '/ip4/203.0.113.7/tcp/4001', /bootstrap\.0: a bootstrap address ends in \/p2p\/<PeerId>/]] as const) {
    const bad = await conun(['node', 'start', '--devnet', '--data-dir', await tempDir('cli-addr'), flag, value])
    assert.equal(bad.code, 1, bad.stderr)
    assert.match(bad.stderr, message)
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace')
  }
})

test('talking to no node is a clear error (exit 1)', async () => {
  const { code, stderr } = await conun(['peers'])
  assert.equal(code, 1)
  assert.match(stderr, /no node is running on \/nonexistent\/conun/)
})

test('a node refuses a wrong passphrase, a devnet key without --devnet, and a damaged keystore, with clear errors', async () => {
  const dataDir = await tempDir('cli-key')
  const first = spawn(BIN, ['node', 'start', '--devnet', '--json', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise(resolve => first.stdout.once('data', resolve))
  first.kill('SIGTERM')
  await new Promise(resolve => first.once('close', resolve))
  // A devnet key (light KDF, public passphrase) is no key for anything else, whatever passphrase is given.
  const devnetKey = await conun(['node', 'start', '--data-dir', dataDir], { CONUN_PASSPHRASE: 'not the devnet one' })
  assert.equal(devnetKey.code, 1)
  assert.match(devnetKey.stderr, /uses a light scrypt KDF \(N=4096, r=8, p=1\).*Only a devnet node \(--devnet, on the dev chain\) opens such a key/)
  const publicPassphrase = await conun(['node', 'start', '--data-dir', dataDir], { CONUN_PASSPHRASE: DEVNET_PASSPHRASE })
  assert.equal(publicPassphrase.code, 1)
  assert.match(publicPassphrase.stderr, /the passphrase from CONUN_PASSPHRASE is the public devnet one: choose your own/)
  await writeFile(join(dataDir, 'node.key.json'), '{"version":3')
  const damaged = await conun(['node', 'start', '--devnet', '--data-dir', dataDir])
  assert.equal(damaged.code, 1)
  assert.match(damaged.stderr, /keystore .* is damaged/)
  await writeKeystore(join(dataDir, 'node.key.json'), await encryptKeystore(await generateNodeKey(), 'the right one'))
  const wrong = await conun(['node', 'start', '--data-dir', dataDir], { CONUN_PASSPHRASE: 'not the right one' })
  assert.equal(wrong.code, 1)
  assert.match(wrong.stderr, /Wrong passphrase for the node keystore/)
})

test('--devnet is refused on any chain but the dev chain, before a key is written', async () => {
  const dataDir = await tempDir('cli-devnet')
  const realChain = ['--chain-id', '1', '--rpc', 'http://127.0.0.1:9', '--token', `0x${'1'.repeat(40)}`, '--escrow', `0x${'2'.repeat(40)}`]
  const flag = await conun(['node', 'start', '--devnet', '--data-dir', dataDir, ...realChain])
  assert.equal(flag.code, 1)
  assert.match(flag.stderr, /--devnet \(or "devnet": true in config\.json\) is only for the dev chain 31337.*For chain 1, drop it and give your own passphrase with --passphrase-file/)
  await writeFile(join(dataDir, 'config.json'), JSON.stringify({ devnet: true, chainId: 1, chain: { rpcUrl: 'http://127.0.0.1:9', token: `0x${'1'.repeat(40)}`, escrow: `0x${'2'.repeat(40)}` } }))
  const config = await conun(['node', 'start', '--data-dir', dataDir])
  assert.equal(config.code, 1)
  assert.match(config.stderr, /is only for the dev chain 31337/)
  assert.deepEqual(await readdir(dataDir), ['config.json'], 'no keystore was written')
})

/** `command args` (a node start), stopped with SIGTERM once its stdout matches `ready`; its stdout. */
async function outputOnceReady (command: string, args: string[], ready: RegExp): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const closed = new Promise(resolve => child.once('close', resolve))
  let stdout = ''
  try {
    await Promise.race([
      new Promise<void>(resolve => child.stdout.on('data', chunk => {
        stdout += chunk
        if (ready.test(stdout)) resolve()
      })),
      closed.then(code => { throw new Error(`${command} exited with ${code} before it was ready: ${stdout}`) }),
    ])
  } finally {
    child.kill('SIGTERM')
    await closed
  }
  return stdout
}

test('node start prints the API token only to a terminal: never in the --json ready line or redirected output', async (t) => {
  const dataDir = await tempDir('cli-token')
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const json = await outputOnceReady(BIN, ['node', 'start', '--devnet', '--json', '--data-dir', dataDir], /\n/)
  const tokenFile = join(dataDir, 'api-token')
  const token = (await readFile(tokenFile, 'utf8')).trim()
  const ready = JSON.parse(json.split('\n')[0]!)
  assert.equal(ready.event, 'ready')
  assert.ok(!json.includes(token), `the ready line holds no token: ${json}`)
  assert.equal(ready.dashboardUrl, `${ready.apiUrl}/`)
  assert.equal(ready.apiTokenFile, tokenFile, 'scripts are told where the token is')
  assert.equal((await stat(tokenFile)).mode & 0o777, 0o600)

  // A token file others could read is closed again on start.
  await chmod(tokenFile, 0o644)
  const redirected = await outputOnceReady(BIN, ['node', 'start', '--devnet', '--data-dir', dataDir], /role/)
  assert.match(redirected, /dashboard http:\/\/127\.0\.0\.1:\d+\/\n/)
  assert.ok(!redirected.includes(token), 'output to a pipe holds no token')
  assert.equal((await stat(tokenFile)).mode & 0o777, 0o600)
  assert.equal((await readFile(tokenFile, 'utf8')).trim(), token, 'the same token')

  // On a terminal (`script` gives it one) a person gets the dashboard URL with the token in its fragment.
  const onTerminal = await outputOnceReady('script', ['-qec', `${BIN} node start --devnet --data-dir ${dataDir}`, '/dev/null'], /role/)
  assert.match(onTerminal, new RegExp(`dashboard http://127\\.0\\.0\\.1:\\d+/#token=${token}`))
})

test('with a running grid: bad specs are refused, jobs run, --json says what the node knows, results download', async (t) => {
  const grid = await startLocalGrid({ providers: 1, coresPerProvider: 2 })
  t.after(() => grid.stop())
  const dataDir = grid.requester.dataDir
  const dir = await tempDir('cli-job')
  const echo = await buildWasiFixture('echo')

  await writeFile(join(dir, 'bad.json'), JSON.stringify({ runtime: 'wasi', module: 'echo.wasm', tasks: [], limits: { memoryMb: -1 } }))
  const bad = await conun(['job', 'run', join(dir, 'bad.json'), '--data-dir', dataDir])
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /invalid job spec/)
  assert.match(bad.stderr, /limits\.memoryMb/)
  const missing = await conun(['job', 'run', join(dir, 'nope.json'), '--data-dir', dataDir])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /cannot read the job spec/)
  await writeFile(join(dir, 'nofile.json'), JSON.stringify({ runtime: 'wasi', module: './missing.wasm', range: { count: 1 } }))
  const noModule = await conun(['job', 'run', join(dir, 'nofile.json'), '--data-dir', dataDir])
  assert.equal(noModule.code, 1)
  assert.match(noModule.stderr, /"\.\/missing\.wasm" is neither a file/)

  await waitFor(async () => (await grid.requester.client.peers()).some(peer => peer.offer !== null), 20_000, 'an offer')
  await writeFile(join(dir, 'job.json'), JSON.stringify({ name: 'cli', runtime: 'wasi', module: echo, range: { count: 12, args: ['x{i}'] } }))
  const run = await conun(['job', 'run', join(dir, 'job.json'), '--watch', '--json', '--data-dir', dataDir])
  assert.equal(run.code, 0, run.stderr)
  const status = JSON.parse(run.stdout.trim().split('\n').at(-1)!)
  assert.equal(status.job.state, 'completed')
  assert.equal(status.counts.done, 12)

  const json = async (args: string[]) => {
    const { code, stdout, stderr } = await conun([...args, '--json', '--data-dir', dataDir])
    assert.equal(code, 0, `${args.join(' ')}: ${stderr}`)
    return JSON.parse(stdout)
  }
  const jobStatus = await json(['job', 'status', status.job.id])
  assert.deepEqual([jobStatus.job.id, jobStatus.job.spec.name, jobStatus.job.state, jobStatus.counts.done], [status.job.id, 'cli', 'completed', 12])
  const jobs = await json(['job', 'list'])
  assert.deepEqual(jobs.map((listed: { job: { id: string, state: string } }) => [listed.job.id, listed.job.state]), [[status.job.id, 'completed']])
  const peers = await json(['peers'])
  const provider = grid.providers[0]!
  assert.deepEqual(peers.filter((peer: { offer: unknown }) => peer.offer !== null).map((peer: { peerId: string, reputation: { valid: number } | null }) => [peer.peerId, peer.reputation?.valid]), [[provider.peerId, 12]])
  const node = await json(['node', 'status'])
  assert.deepEqual([node.peerId, node.address, node.chainId, node.provider, node.runningJobs], [grid.requester.peerId, grid.requester.address, 31337, null, 0])

  const out = join(dir, 'results')
  const results = await conun(['job', 'results', status.job.id, '--out', out, '--data-dir', dataDir])
  assert.equal(results.code, 0, results.stderr)
  assert.equal((await readdir(out)).filter(name => /^\d+$/.test(name)).length, 12)
  assert.match(await readFile(join(out, '5', 'stdout'), 'utf8'), /argv\[1\]=x5/)
  assert.equal(await readFile(join(out, '5', 'out', 'sub', 'dir', 'x.txt'), 'utf8'), 'nested\n')
  const apiUrl = grid.requester.client.url
  const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
  assert.equal((await conun(['job', 'list', '--api', apiUrl, '--token', token])).code, 0, 'a node named by --api and --token')
  assert.match((await conun(['job', 'list', '--api', apiUrl, '--token', 'wrong'])).stderr, /missing or wrong API token/)
  const unknownJob = await conun(['job', 'status', '0123456789abcdef', '--data-dir', dataDir])
  assert.equal(unknownJob.code, 1)
  assert.match(unknownJob.stderr, /no job with id 0123456789abcdef/)
})

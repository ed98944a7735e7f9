// The wallet commands through the real binary, on a node's data dir and a real dev chain: address
// without the passphrase, balances, transfers with every mistake refused clearly, withdrawals from
// the standing balance in the escrow, the faucet, and export/import of the encrypted keystore.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseEther } from 'viem'
import { encryptKeystore, generateNodeKey } from '../src/identity/index.ts'
import { createLedgerClient, depositToEscrow, readBalances, reserveLines, startDevChain } from '../src/ledger/index.ts'
import { DEVNET_PASSPHRASE, loadNodeConfig, startNode } from '../src/node/index.ts'
import { conun, tempDir } from './helpers.ts'
import type { Address } from 'viem'

test('conun wallet: address, faucet, balance, transfer, export and import, with clear errors', async (t) => {
  const chain = await startDevChain()
  t.after(() => chain.close())
  // A node run once on the chain leaves its keystore and chain.json in its data dir.
  const dataDir = await tempDir('wallet')
  const config = await loadNodeConfig({ dataDir, devnet: true, chain: { rpcUrl: chain.info.rpcUrl, token: chain.info.token, escrow: chain.info.escrow } }, async () => undefined)
  const node = await startNode(config, DEVNET_PASSPHRASE)
  const address = node.key.address
  await node.stop()
  const wallet = (args: string[], env: Record<string, string> = {}) => conun(['wallet', ...args, '--data-dir', dataDir], env)
  const json = async (args: string[]) => {
    const result = await wallet([...args, '--json'])
    assert.equal(result.code, 0, result.stderr)
    return JSON.parse(result.stdout) as Record<string, string>
  }

  assert.equal((await json(['address'])).address, address)
  assert.equal((await json(['balance'])).conWei, '0')
  assert.equal((await json(['faucet', '--devnet'])).conWei, String(parseEther('10000')))

  const recipient = '0x000000000000000000000000000000000000c0de' as Address
  const sent = await wallet(['transfer', recipient, '12.5', '--devnet'])
  assert.equal(sent.code, 0, sent.stderr)
  assert.match(sent.stdout, /sent 12\.5 CON/)
  assert.equal((await readBalances(createLedgerClient(chain.info, new Uint8Array(32).fill(1)), recipient)).con, parseEther('12.5'))
  assert.equal((await json(['balance'])).conWei, String(parseEther('9987.5')))

  const badAddress = await wallet(['transfer', '0x1234', '1', '--devnet'])
  assert.equal(badAddress.code, 1)
  assert.match(badAddress.stderr, /not an Ethereum address/)
  const tooMuch = await wallet(['transfer', recipient, '1000000', '--devnet'])
  assert.equal(tooMuch.code, 1)
  assert.match(tooMuch.stderr, /insufficient funds: 9987\.5 CON available/)
  const badAmount = await wallet(['transfer', recipient, '1.2.3', '--devnet'])
  assert.equal(badAmount.code, 1)
  assert.match(badAmount.stderr, /not an amount of CON/)
  const noPassphrase = await wallet(['transfer', recipient, '1'], { CONUN_PASSPHRASE: '' })
  assert.equal(noPassphrase.code, 1)
  assert.match(noPassphrase.stderr, /needs a passphrase/)
  const wrongPassphrase = await wallet(['transfer', recipient, '1'], { CONUN_PASSPHRASE: 'not it' })
  assert.equal(wrongPassphrase.code, 1)
  assert.equal((await json(['balance'])).conWei, String(parseEther('9987.5')), 'nothing was sent by the failed transfers')

  // The standing balance in the escrow: what a payment line holds stays there, the free rest comes out.
  const asNode = createLedgerClient(chain.info, node.key.secret)
  await depositToEscrow(asNode, parseEther('20'))
  await reserveLines(asNode, [{ provider: '0x000000000000000000000000000000000000bEEF', amount: parseEther('15') }])
  assert.equal((await json(['balance'])).escrowFreeWei, String(parseEther('5')))
  const tooMuchOut = await wallet(['withdraw', '6', '--devnet'])
  assert.equal(tooMuchOut.code, 1)
  assert.match(tooMuchOut.stderr, /only 5 CON is free in the escrow \(payment lines hold the rest\), 6 CON asked/)
  const out = await wallet(['withdraw', '2', '--devnet'])
  assert.equal(out.code, 0, out.stderr)
  assert.match(out.stdout, /withdrew 2 CON from the escrow/)
  assert.equal((await json(['withdraw', 'all', '--devnet'])).amountWei, String(parseEther('3')))
  const balance = await json(['balance'])
  assert.deepEqual([balance.conWei, balance.escrowFreeWei], [String(parseEther('9972.5')), '0'])

  // The same contracts claimed on another chain id: refused before signing anything, and the
  // devnet passphrase is no passphrase there.
  const chainFile = join(dataDir, 'chain.json')
  const original = await readFile(chainFile, 'utf8')
  await writeFile(chainFile, JSON.stringify({ ...JSON.parse(original), chainId: 1 }))
  const wrongChain = await wallet(['balance'])
  assert.equal(wrongChain.code, 1)
  assert.match(wrongChain.stderr, /wrong chain/)
  const devnetOnChain1 = await wallet(['transfer', recipient, '1', '--devnet'])
  assert.equal(devnetOnChain1.code, 1)
  assert.match(devnetOnChain1.stderr, /--devnet .* is only for the dev chain 31337.*For chain 1, drop it/)
  const noFaucet = await wallet(['faucet', '--devnet'])
  assert.equal(noFaucet.code, 1)
  await writeFile(chainFile, original)

  const exported = await wallet(['export'])
  assert.equal(exported.code, 0)
  const keystore = JSON.parse(exported.stdout) as { address: string, crypto: unknown }
  assert.equal(`0x${keystore.address}`.toLowerCase(), address.toLowerCase())
  assert.ok(!exported.stdout.includes(Buffer.from(node.key.secret).toString('hex')), 'the key leaves only encrypted')
  const otherDir = await tempDir('wallet-import')
  const file = join(otherDir, 'exported.json')
  await writeFile(file, exported.stdout)
  const imported = await conun(['wallet', 'import', file, '--data-dir', otherDir, '--devnet'])
  assert.equal(imported.code, 0, imported.stderr)
  assert.match(imported.stdout, new RegExp(address))
  const again = await conun(['wallet', 'import', file, '--data-dir', otherDir, '--devnet'])
  assert.equal(again.code, 2)
  assert.match(again.stderr, /--force/)
  const wrong = await conun(['wallet', 'import', file, '--data-dir', otherDir, '--force'], { CONUN_PASSPHRASE: 'not it' })
  assert.equal(wrong.code, 1)
  // A keystore with a KDF weaker than conun writes is refused, even with its right passphrase.
  const light = join(otherDir, 'light.json')
  await writeFile(light, JSON.stringify(await encryptKeystore(await generateNodeKey(), 'my own', 'light')))
  const weak = await conun(['wallet', 'import', light, '--data-dir', otherDir, '--force'], { CONUN_PASSPHRASE: 'my own' })
  assert.equal(weak.code, 1)
  assert.match(weak.stderr, /uses a light scrypt KDF \(N=4096, r=8, p=1\), weaker than the N=262144, r=8 conun requires/)
  const kept = await conun(['wallet', 'address', '--data-dir', otherDir, '--json'])
  assert.equal(JSON.parse(kept.stdout).address, address, 'the imported key was not replaced')
  const noChain = await conun(['wallet', 'balance', '--data-dir', otherDir])
  assert.equal(noChain.code, 1)
  assert.match(noChain.stderr, /no chain known/)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEVNET_FAUCET_KEY, startDevChain } from './devChain.ts'
import { findDeploymentBlock } from './findDeploymentBlock.ts'
import { createLedgerClient } from './ledgerClient.ts'
import { transferCon } from './wallet.ts'

test('the escrow\'s deployment block is found from its address alone, with blocks mined after it', async (t) => {
  const chain = await startDevChain()
  t.after(() => chain.close())
  const faucet = createLedgerClient(chain.info, Buffer.from(DEVNET_FAUCET_KEY.slice(2), 'hex'))
  for (let i = 0; i < 5; i++) await transferCon(faucet, `0x${String(i + 1).padStart(40, '0')}`, 1n)
  assert.ok(await faucet.public.getBlockNumber() > chain.info.deploymentBlock + 4n)
  assert.equal(await findDeploymentBlock(faucet.public, chain.info.escrow), chain.info.deploymentBlock)
  assert.equal(await findDeploymentBlock(faucet.public, chain.info.token), chain.info.deploymentBlock - 1n, 'the token came one block before')
  assert.equal(await findDeploymentBlock(faucet.public, `0x${'7'.repeat(40)}`), undefined, 'no code, no block')
})

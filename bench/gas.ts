// `npm run bench:gas`: what paying providers costs on chain. For jobs of 1, 100 and 1,000 tasks
// spread over 3 providers, the gas of conun's escrow (open the job with a permit, sign cumulative
// receipts off chain, settle everyone in one final transaction) beside the naive way (one ERC-20
// transfer per task), both measured on the same dev chain in this run. The transactions are the
// very ones a requester node sends (src/ledger), not estimates.
import { randomBytes } from 'node:crypto'
import { keccak256, parseEther, toHex } from 'viem'
import { claimPayment, conunTokenAbi, createLedgerClient, finalizeJob, formatCon, fundFromFaucet, onchainJobId, openJob, resultRoot, sendContract, signReceipt, startDevChain } from '../src/ledger/index.ts'
import type { LedgerClient } from '../src/ledger/index.ts'
import type { Address } from 'viem'

const PRICE = parseEther('0.01')
const SIZES = [1, 100, 1000]
const chain = await startDevChain()
try {
  const account = async (secret = randomBytes(32)) => {
    const client = createLedgerClient(chain.info, secret)
    await fundFromFaucet(chain.info, client.account.address)
    return client
  }
  const requesterSecret = randomBytes(32)
  const requester = await account(requesterSecret)
  // Providers that already hold CON, as any provider does after its first payment.
  const providers = await Promise.all([account(), account(), account()])
  const addresses = providers.map(p => p.account.address)

  const rows = []
  for (const tasks of SIZES) {
    const conun = await escrowJob(requester, addresses, tasks)
    const naive = await transferPerTask(requester, addresses, tasks)
    rows.push({ tasks, ...conun, naive })
  }

  console.log(`gas to pay 3 providers ${formatCon(PRICE)} per task (dev chain ${chain.info.chainId})\n`)
  console.log('| tasks | conun: open escrow + settle (gas) | conun gas / task | of which paying providers (settle) | naive: a transfer per task (gas) | naive gas / task | conun cheaper by (all / settle only) |')
  console.log('|---:|---:|---:|---:|---:|---:|---:|')
  for (const row of rows) {
    console.log(`| ${row.tasks.toLocaleString('en')} | ${row.total.toLocaleString('en')} (${row.open.toLocaleString('en')} + ${row.settle.toLocaleString('en')}) | ${(row.total / row.tasks).toFixed(1)} | ${(row.settle / row.tasks).toFixed(1)} / task | ${row.naive.toLocaleString('en')} | ${(row.naive / row.tasks).toFixed(0)} | ${(row.naive / row.total).toFixed(0)}× / ${(row.naive / row.settle).toFixed(0)}× |`)
  }
  const claims = await providerClaims(requester, requesterSecret, providers, 1000)
  console.log(`\nif providers claim themselves instead (3 claims, then the requester's settlement pays nothing more): ${claims.toLocaleString('en')} gas for 1,000 tasks, ${(claims / 1000).toFixed(1)} gas/task`)
  const last = rows.at(-1)!
  console.log(`\ngoal: ≤ 100 gas/task at 1,000 tasks and ≥ 300× cheaper than the naive way`)
  console.log(`  paying (settlement):            ${(last.settle / last.tasks).toFixed(1)} gas/task, ${(last.naive / last.settle).toFixed(0)}× cheaper`)
  console.log(`  with the escrow deposit as well: ${(last.total / last.tasks).toFixed(1)} gas/task, ${(last.naive / last.total).toFixed(0)}× cheaper`)
} finally {
  await chain.close()
}

/** Tasks handed out round-robin: what each provider is owed at the end. */
function owedFor (providers: readonly Address[], tasks: number) {
  return providers.map((provider, i) => ({ provider, cumulativeAmount: PRICE * BigInt(Math.floor(tasks / providers.length) + (i < tasks % providers.length ? 1 : 0)) })).filter(entry => entry.cumulativeAmount > 0n)
}

async function open (requester: LedgerClient, tasks: number) {
  const jobId = onchainJobId(requester.account.address, randomBytes(8).toString('hex'))
  const now = (await requester.public.getBlock()).timestamp
  const opened = await openJob(requester, { jobId, specHash: keccak256(toHex(tasks)), budget: PRICE * BigInt(tasks), deadline: now + 86_400n })
  return { jobId, gas: Number(opened.gasUsed) }
}

async function escrowJob (requester: LedgerClient, providers: readonly Address[], tasks: number) {
  const { jobId, gas: openGas } = await open(requester, tasks)
  const leaves = Array.from({ length: tasks }, (_, idx) => ({ idx, outcomeHash: keccak256(toHex(idx)) }))
  const settled = await finalizeJob(requester, jobId, resultRoot(leaves), owedFor(providers, tasks))
  return { open: openGas, settle: Number(settled.gasUsed), total: openGas + Number(settled.gasUsed) }
}

async function transferPerTask (requester: LedgerClient, providers: readonly Address[], tasks: number) {
  let gas = 0
  for (let i = 0; i < tasks; i++) {
    const sent = await sendContract(requester, { address: chain.info.token, abi: conunTokenAbi, functionName: 'transfer', args: [providers[i % providers.length]!, PRICE] })
    gas += Number(sent.gasUsed)
  }
  return gas
}

/** The same job paid the other way: each provider claims its last receipt, then the requester settles. */
async function providerClaims (requester: LedgerClient, requesterSecret: Uint8Array, providers: readonly LedgerClient[], tasks: number) {
  const { jobId, gas: openGas } = await open(requester, tasks)
  let gas = openGas
  for (const { provider, cumulativeAmount } of owedFor(providers.map(p => p.account.address), tasks)) {
    const claimer = providers.find(p => p.account.address === provider)!
    const signature = signReceipt(requesterSecret, { chainId: chain.info.chainId, escrow: chain.info.escrow, jobId, provider, cumulativeAmount })
    gas += Number((await claimPayment(claimer, { jobId, provider, cumulativeAmount, signature })).gasUsed)
  }
  gas += Number((await finalizeJob(requester, jobId, keccak256('0x01'), [])).gasUsed)
  return gas
}

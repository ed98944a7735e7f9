import assert from 'node:assert/strict'
import { it } from 'node:test'
import { conunTokenAbi, jobEscrowAbi, reentrantTokenAbi } from './abi.ts'
import { loadArtifacts } from './compileContracts.ts'
import type { Abi } from 'viem'

/** One line per ABI entry: kind, name, input types and output types. */
function signatures (abi: Abi): Set<string> {
  return new Set(abi.map(item => {
    const types = (params: readonly { type: string }[] | undefined) => (params ?? []).map(p => p.type).join(',')
    const name = 'name' in item ? item.name : ''
    return `${item.type} ${name}(${types('inputs' in item ? item.inputs : [])})${'outputs' in item ? ` → (${types(item.outputs)})` : ''}`
  }))
}

it('the hand-written ABIs match what solc compiles from contracts/', async () => {
  const artifacts = await loadArtifacts()
  for (const [name, abi] of [['ConunToken', conunTokenAbi], ['JobEscrow', jobEscrowAbi], ['ReentrantToken', reentrantTokenAbi]] as const) {
    const compiled = signatures(artifacts[name].abi)
    for (const entry of signatures(abi)) assert.ok(compiled.has(entry), `${name}: ${entry} is not in the compiled contract`)
  }
  // Everything the escrow exposes is known to the client.
  const escrow = signatures(jobEscrowAbi)
  for (const entry of signatures(artifacts.JobEscrow.abi)) assert.ok(escrow.has(entry) || entry.startsWith('function eip712Domain') || entry.startsWith('event EIP712DomainChanged') || entry.startsWith('error ECDSA') || entry.startsWith('error SafeERC20') || entry.startsWith('error InvalidShortString') || entry.startsWith('error StringTooLong') || entry.startsWith('function RECEIPT_TYPEHASH'), `JobEscrow's ${entry} is missing from abi.ts`)
})

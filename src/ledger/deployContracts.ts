import { loadArtifacts } from './compileContracts.ts'
import { conunTokenAbi } from './abi.ts'
import { LedgerError } from './errors.ts'
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from 'viem'

const CONFIRMATION_TIMEOUT_MS = 600_000

/** What deploying needs: a reader and a wallet that pays for the deployment. */
export interface DeployClients {
  readonly public: PublicClient<Transport, Chain>
  readonly wallet: WalletClient<Transport, Chain, Account>
}

export interface DeployOptions {
  /** An ERC-20 with permit (EIP-2612) and 18 decimals to pay in; without it, ConunToken is deployed. */
  readonly token?: Address
  /** A new ConunToken's whole supply, minted to the deploying account (wei). */
  readonly supplyWei: bigint
  /** Blocks built on top of each deployment before it counts (0: mined). */
  readonly confirmations: number
  /** Told about each step, for a CLI to print. */
  readonly onStep?: (step: DeployStep) => void
}

export interface DeployStep {
  readonly contract: 'ConunToken' | 'JobEscrow'
  readonly hash: Hex
  readonly address?: Address
  readonly gasUsed?: bigint
}

export interface Deployment {
  readonly chainId: number
  readonly token: Address
  readonly escrow: Address
  /** The escrow's block: where a node starts reading its logs. */
  readonly deploymentBlock: bigint
  /** False when an existing token was given. */
  readonly tokenDeployed: boolean
  readonly gasUsed: bigint
}

/**
 * Deploys conun's contracts from the wallet's account: ConunToken (unless an existing token with
 * permit is given, which is checked first) and the JobEscrow over it, each waited on for the
 * confirmations asked.
 */
export async function deployContracts (clients: DeployClients, options: DeployOptions): Promise<Deployment> {
  const artifacts = await loadArtifacts()
  const confirmations = options.confirmations + 1
  const deploy = async (contract: DeployStep['contract'], args: readonly unknown[]) => {
    const hash = await clients.wallet.deployContract({ abi: artifacts[contract].abi, bytecode: artifacts[contract].bytecode, args })
    options.onStep?.({ contract, hash })
    const receipt = await clients.public.waitForTransactionReceipt({ hash, confirmations, timeout: CONFIRMATION_TIMEOUT_MS }).catch((error: Error) => {
      // A chain that mines only when sent a transaction (a dev chain without a block time) never confirms.
      throw new LedgerError(`${contract} in transaction ${hash} was not ${options.confirmations} block(s) deep within ${CONFIRMATION_TIMEOUT_MS / 60_000} minutes: is the chain making blocks? (${error.message.split('\n')[0]})`)
    })
    const address = receipt.contractAddress ?? undefined
    if (receipt.status !== 'success' || address === undefined) throw new LedgerError(`deploying ${contract} failed in transaction ${hash}`)
    options.onStep?.({ contract, hash, address, gasUsed: receipt.gasUsed })
    return { address, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed }
  }
  let token = options.token
  let gasUsed = 0n
  if (token === undefined) {
    const receipt = await deploy('ConunToken', [clients.wallet.account.address, options.supplyWei])
    token = receipt.address
    gasUsed += receipt.gasUsed
  } else {
    await assertPermitToken(clients.public, token, clients.wallet.account.address)
  }
  const escrow = await deploy('JobEscrow', [token])
  return {
    chainId: await clients.public.getChainId(),
    token,
    escrow: escrow.address,
    deploymentBlock: escrow.blockNumber,
    tokenDeployed: options.token === undefined,
    gasUsed: gasUsed + escrow.gasUsed,
  }
}

/** The escrow pulls budgets with permit and conun counts in 18 decimals: a token without either is refused. */
async function assertPermitToken (reader: DeployClients['public'], token: Address, owner: Address): Promise<void> {
  if (await reader.getCode({ address: token }) === undefined) throw new LedgerError(`there is no contract at token address ${token}`)
  const read = async <T>(what: string, call: () => Promise<T>) => call().catch(() => {
    throw new LedgerError(`the token at ${token} has no ${what}: conun needs an ERC-20 with permit (EIP-2612)`)
  })
  const decimals = await read('decimals()', () => reader.readContract({ address: token, abi: conunTokenAbi, functionName: 'decimals' }))
  if (decimals !== 18) throw new LedgerError(`the token at ${token} has ${decimals} decimals; conun counts CON in 18`)
  await read('nonces(address), so no permit', () => reader.readContract({ address: token, abi: conunTokenAbi, functionName: 'nonces', args: [owner] }))
  await read('balanceOf(address)', () => reader.readContract({ address: token, abi: conunTokenAbi, functionName: 'balanceOf', args: [owner] }))
}

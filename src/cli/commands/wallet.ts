import { readFile } from 'node:fs/promises'
import { decryptKeystore, writeKeystore } from '../../identity/index.ts'
import { formatCon, fundFromFaucet, parseCon, readBalances, readEscrowBalance, transferCon, withdrawFromEscrow } from '../../ledger/index.ts'
import { formatEther } from 'viem'
import { resolvePassphrase } from '../passphrase.ts'
import { parseFlags, UsageError } from '../usage.ts'
import { keystorePath, reader, signer, walletAddress, WALLET_OPTIONS, WALLET_OPTIONS_HELP } from '../walletContext.ts'
import type { Command } from '../usage.ts'
import type { KeystoreV3 } from '../../identity/index.ts'

const usage = (synopsis: string, text: string, extra = '') => `Usage: conun wallet ${synopsis}

${text}

Options:
${extra}${WALLET_OPTIONS_HELP}`

const addressHelp = usage('address [options]', 'Prints the node\'s Ethereum address: the account providers are paid to and requesters pay from.')
export const walletAddressCommand: Command = {
  name: 'wallet address',
  summary: 'print this node\'s Ethereum address',
  help: addressHelp,
  async run (argv) {
    const { values } = parseFlags(argv, WALLET_OPTIONS, addressHelp, { min: 0, max: 0 })
    const address = await walletAddress(values)
    console.log(values.json === true ? JSON.stringify({ address }) : address)
    return 0
  },
}

const balanceHelp = usage('balance [options]', 'Shows the node account\'s CON (the token jobs are paid in) and ETH (for gas) on its chain, and its CON in the escrow that no payment line holds.')
export const walletBalanceCommand: Command = {
  name: 'wallet balance',
  summary: 'show CON and ETH balances',
  help: balanceHelp,
  async run (argv) {
    const { values } = parseFlags(argv, WALLET_OPTIONS, balanceHelp, { min: 0, max: 0 })
    const address = await walletAddress(values)
    const client = await reader(values)
    const [{ con, eth }, escrowFree] = await Promise.all([readBalances(client, address), readEscrowBalance(client, address)])
    if (values.json === true) console.log(JSON.stringify({ address, chainId: client.info.chainId, conWei: String(con), ethWei: String(eth), escrowFreeWei: String(escrowFree) }))
    else console.log(`${address} on chain ${client.info.chainId}\n  ${formatCon(con)}\n  ${formatEther(eth)} ETH (for gas)\n  ${formatCon(escrowFree)} free in the escrow (conun wallet withdraw)`)
    return 0
  },
}

const transferHelp = usage('transfer <to> <amount> [options]', 'Sends <amount> CON (e.g. 12.5) from the node account to the address <to>. Needs the passphrase.')
export const walletTransferCommand: Command = {
  name: 'wallet transfer',
  summary: 'send CON to an address',
  help: transferHelp,
  async run (argv) {
    const { values, positionals } = parseFlags(argv, WALLET_OPTIONS, transferHelp, { min: 2, max: 2 })
    const [to, amountText] = positionals as [string, string]
    const amount = parseCon(amountText)
    const client = await signer(values)
    const sent = await transferCon(client, to, amount)
    if (values.json === true) console.log(JSON.stringify({ hash: sent.hash, gasUsed: String(sent.gasUsed) }))
    else console.log(`sent ${formatCon(amount)} to ${to} in transaction ${sent.hash} (${sent.gasUsed} gas)`)
    return 0
  },
}

const withdrawHelp = usage('withdraw <amount|all> [options]', 'Takes <amount> CON (e.g. 12.5), or all of it, from the node\'s standing balance in the escrow back to its account. Only what no payment line to a provider holds can be withdrawn (see conun wallet release). Needs the passphrase.')
export const walletWithdrawCommand: Command = {
  name: 'wallet withdraw',
  summary: 'take CON that no payment line holds out of the escrow',
  help: withdrawHelp,
  async run (argv) {
    const { values, positionals } = parseFlags(argv, WALLET_OPTIONS, withdrawHelp, { min: 1, max: 1 })
    const client = await signer(values)
    const amount = positionals[0] === 'all' ? await readEscrowBalance(client, client.account.address) : parseCon(positionals[0]!)
    const sent = await withdrawFromEscrow(client, amount)
    if (values.json === true) console.log(JSON.stringify({ hash: sent.hash, amountWei: String(amount), gasUsed: String(sent.gasUsed) }))
    else console.log(`withdrew ${formatCon(amount)} from the escrow in transaction ${sent.hash} (${sent.gasUsed} gas)`)
    return 0
  },
}

const exportHelp = usage('export [options]', 'Prints the node key as its encrypted Web3 Secret Storage (v3) keystore: the key never leaves it unencrypted.')
export const walletExportCommand: Command = {
  name: 'wallet export',
  summary: 'print the encrypted keystore',
  help: exportHelp,
  async run (argv) {
    const { values } = parseFlags(argv, WALLET_OPTIONS, exportHelp, { min: 0, max: 0 })
    await walletAddress(values)
    process.stdout.write(await readFile(keystorePath(values), 'utf8'))
    return 0
  },
}

const importHelp = usage('import <keystore> [options]', 'Makes a v3 keystore file this node\'s key (its PeerId and address change with it). It must open with the passphrase. The node must be stopped.', '  --force                 replace an existing node key\n')
export const walletImportCommand: Command = {
  name: 'wallet import',
  summary: 'use a keystore file as the node key',
  help: importHelp,
  async run (argv) {
    const { values, positionals } = parseFlags(argv, { ...WALLET_OPTIONS, force: { type: 'boolean' } }, importHelp, { min: 1, max: 1 })
    const source = positionals[0]!
    let json: unknown
    try {
      json = JSON.parse(await readFile(source, 'utf8'))
    } catch (error) {
      throw new UsageError(`cannot read ${source} as JSON: ${(error as Error).message}`, importHelp)
    }
    const devnet = values.devnet === true
    const { passphrase } = await resolvePassphrase({ devnet, passphraseFile: values['passphrase-file'] })
    // No weaker KDF than conun itself would write: a light one only for a devnet key.
    const key = await decryptKeystore(json, passphrase, source, devnet ? 'light' : 'standard')
    const exists = await readFile(keystorePath(values)).then(() => true, () => false)
    if (exists && values.force !== true) throw new UsageError(`${keystorePath(values)} already holds a node key; pass --force to replace it`, importHelp)
    await writeKeystore(keystorePath(values), json as KeystoreV3)
    console.log(values.json === true ? JSON.stringify({ address: key.address, peerId: key.peerId.toString() }) : `imported: address ${key.address}, PeerId ${key.peerId.toString()}`)
    return 0
  },
}

const faucetHelp = usage('faucet [options]', 'On the local dev chain only: gives the node account 10,000 CON and 10 ETH for gas.')
export const walletFaucetCommand: Command = {
  name: 'wallet faucet',
  summary: 'get dev-chain CON and ETH',
  help: faucetHelp,
  async run (argv) {
    const { values } = parseFlags(argv, WALLET_OPTIONS, faucetHelp, { min: 0, max: 0 })
    const address = await walletAddress(values)
    const client = await reader(values)
    await fundFromFaucet(client.info, address)
    const { con, eth } = await readBalances(client, address)
    console.log(values.json === true ? JSON.stringify({ address, conWei: String(con), ethWei: String(eth) }) : `${address} now has ${formatCon(con)} and ${formatEther(eth)} ETH`)
    return 0
  },
}

export const walletCommands = [walletAddressCommand, walletBalanceCommand, walletTransferCommand, walletWithdrawCommand, walletExportCommand, walletImportCommand, walletFaucetCommand]

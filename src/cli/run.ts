import { ConunError } from '../util/index.ts'
import { jobCancel } from './commands/jobCancel.ts'
import { jobList } from './commands/jobList.ts'
import { jobResults } from './commands/jobResults.ts'
import { jobRun } from './commands/jobRun.ts'
import { jobStatus } from './commands/jobStatus.ts'
import { nodeStart } from './commands/nodeStart.ts'
import { nodeStatus } from './commands/nodeStatus.ts'
import { peers } from './commands/peers.ts'
import { walletCommands } from './commands/wallet.ts'
import { walletRelease } from './commands/walletRelease.ts'
import { chainCommands } from './commands/chain.ts'
import { UsageError } from './usage.ts'
import type { Command } from './usage.ts'

const commands: Command[] = [nodeStart, nodeStatus, peers, jobRun, jobStatus, jobResults, jobList, jobCancel, ...walletCommands, walletRelease, ...chainCommands]

const help = `conun — a peer-to-peer grid computer: lend idle machines, run jobs of sandboxed tasks.

Usage: conun <command> [options]

Commands:
${commands.map(command => `  ${command.name.padEnd(16)} ${command.summary}`).join('\n')}

Run "conun <command> --help" for a command's options. Exit codes: 0 success, 1 failure, 2 usage error.`


export async function main (argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(help)
    return argv.length === 0 ? 2 : 0
  }
  const command = commands.find(c => {
    const words = c.name.split(' ')
    return words.every((word, i) => argv[i] === word)
  })
  if (command === undefined) {
    console.error(`conun: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${help}`)
    return 2
  }
  const args = argv.slice(command.name.split(' ').length)
  if (args.includes('--help') || args.includes('-h')) {
    console.log(command.help)
    return 0
  }
  try {
    return await command.run(args)
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`conun ${command.name}: ${error.message}\n\n${error.help}`)
      return 2
    }
    // Typed errors say what went wrong and what to do: their message only. Anything else is a bug: its stack.
    if (error instanceof ConunError && error.kind !== 'internal') {
      console.error(`conun ${command.name}: ${(error as Error).message}`)
      return 1
    }
    console.error(`conun ${command.name}: unexpected error`, error)
    return 1
  }
}

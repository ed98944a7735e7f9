import { parseCon } from '../ledger/index.ts'
import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'
import { ConunError } from '../util/index.ts'

/** A mistake in how a command was called: printed with the command's help, exit code 2. */
export class UsageError extends ConunError {
  override readonly name = 'UsageError'
  readonly code = 'usage'
  readonly kind = 'invalid'
  readonly help: string
  constructor (message: string, help: string) {
    super(message)
    this.help = help
  }
}

export interface Command {
  /** e.g. "job run". */
  readonly name: string
  readonly summary: string
  /** Full help text shown by --help. */
  readonly help: string
  run(argv: string[]): Promise<number>
}

type Options = NonNullable<ParseArgsConfig['options']>

/** Options every command that talks to a node accepts. */
export const CLIENT_OPTIONS = {
  'data-dir': { type: 'string' },
  api: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options

export const CLIENT_OPTIONS_HELP = `  --data-dir DIR    the node's data directory (default: $CONUN_DATA_DIR or ~/.conun)
  --api URL         the node's API URL (default: read from DIR/node.json)
  --token TOKEN     the API token (default: read from DIR/api-token)
  -h, --help        show this help`

/** Parses flags strictly; unknown flags, missing values and stray arguments are UsageErrors. */
export function parseFlags<O extends Options> (argv: string[], options: O, help: string, positionals: { min: number, max: number }) {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, '.'), help)
  }
  if (parsed.positionals.length < positionals.min) throw new UsageError('missing argument', help)
  if (parsed.positionals.length > positionals.max) throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}"`, help)
  return parsed
}

/** A whole number flag within bounds, or a UsageError naming the flag. */
export function intFlag (value: string | undefined, flag: string, help: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isInteger(number) || number < min || number > max) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got "${value}"`, help)
  return number
}

/** An amount of CON given on the command line, in wei. */
export function conFlag (value: string, flag: string, help: string): bigint {
  try {
    return parseCon(value)
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`, help)
  }
}

import { readFile } from 'node:fs/promises'
import { DEVNET_PASSPHRASE } from '../node/index.ts'
import { ConunError } from '../util/index.ts'

export class PassphraseError extends ConunError {
  override readonly name = 'PassphraseError'
  readonly code = 'no-passphrase'
  readonly kind = 'invalid'
}

/**
 * The keystore passphrase, from (in order) --devnet, --passphrase-file, $CONUN_PASSPHRASE, or a
 * prompt on the terminal. Never from a plain flag: it would show in `ps` and shell history; and
 * never the published devnet one without --devnet.
 */
export async function resolvePassphrase (options: { devnet: boolean, passphraseFile: string | undefined }): Promise<{ passphrase: string, source: string }> {
  if (options.devnet) return { passphrase: DEVNET_PASSPHRASE, source: 'devnet default (INSECURE: for local demos and tests only)' }
  const given = await ownPassphrase(options.passphraseFile)
  if (given.passphrase === DEVNET_PASSPHRASE) {
    throw new PassphraseError(`the passphrase from ${given.source} is the public devnet one: choose your own (or use --devnet, on the dev chain only)`)
  }
  return given
}

/** The passphrase the user gave: from the file, the environment or the terminal. */
async function ownPassphrase (passphraseFile: string | undefined): Promise<{ passphrase: string, source: string }> {
  if (passphraseFile !== undefined) {
    let text: string
    try {
      text = await readFile(passphraseFile, 'utf8')
    } catch (error) {
      throw new PassphraseError(`cannot read --passphrase-file ${passphraseFile}: ${(error as Error).message}`)
    }
    const passphrase = text.split(/\r?\n/)[0] ?? ''
    if (passphrase === '') throw new PassphraseError(`--passphrase-file ${passphraseFile} is empty`)
    return { passphrase, source: passphraseFile }
  }
  const fromEnv = process.env.CONUN_PASSPHRASE
  if (fromEnv !== undefined && fromEnv !== '') return { passphrase: fromEnv, source: 'CONUN_PASSPHRASE' }
  if (process.stdin.isTTY !== true) {
    throw new PassphraseError('the node key needs a passphrase: give --passphrase-file, set CONUN_PASSPHRASE, run on a terminal to be asked, or use --devnet for a local demo')
  }
  return { passphrase: await prompt('Node key passphrase: '), source: 'prompt' }
}

/** Reads a line from the terminal without echoing it. */
async function prompt (question: string): Promise<string> {
  process.stderr.write(question)
  const stdin = process.stdin
  stdin.setRawMode(true)
  stdin.resume()
  stdin.setEncoding('utf8')
  try {
    return await new Promise<string>((resolve, reject) => {
      let answer = ''
      const onData = (chunk: string) => {
        for (const char of chunk) {
          if (char === '\r' || char === '\n') {
            stdin.off('data', onData)
            process.stderr.write('\n')
            if (answer === '') reject(new PassphraseError('an empty passphrase is not allowed'))
            else resolve(answer)
            return
          }
          if (char === '\u0003') {
            stdin.off('data', onData)
            reject(new PassphraseError('cancelled'))
            return
          }
          if (char === '\u007f') answer = answer.slice(0, -1)
          else answer += char
        }
      }
      stdin.on('data', onData)
    })
  } finally {
    stdin.setRawMode(false)
    stdin.pause()
  }
}

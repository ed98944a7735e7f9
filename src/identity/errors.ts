/** Errors of the identity domain: each names what went wrong and what to do next. */

export class WrongPassphraseError extends Error {
  override readonly name = 'WrongPassphraseError'
  readonly path: string
  constructor (path: string) {
    super(`Wrong passphrase for the node keystore ${path}. Give the passphrase used when the node was created (--passphrase-file, CONUN_PASSPHRASE or the prompt).`)
    this.path = path
  }
}

export class KeystoreCorruptError extends Error {
  override readonly name = 'KeystoreCorruptError'
  readonly path: string
  constructor (path: string, detail: string) {
    super(`The node keystore ${path} is damaged (${detail}). Restore it from a backup, or move it away to create a new node identity.`)
    this.path = path
  }
}

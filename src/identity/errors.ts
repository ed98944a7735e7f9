import { ConunError } from '../util/index.ts'

/** Errors of the identity domain: each names what went wrong and what to do next. */

export class WrongPassphraseError extends ConunError {
  override readonly name = 'WrongPassphraseError'
  readonly code = 'wrong-passphrase'
  readonly kind = 'denied'
  readonly path: string
  constructor (path: string) {
    super(`Wrong passphrase for the node keystore ${path}. Give the passphrase used when the node was created (--passphrase-file, CONUN_PASSPHRASE or the prompt).`)
    this.path = path
  }
}

export class KeystoreCorruptError extends ConunError {
  override readonly name = 'KeystoreCorruptError'
  readonly code = 'keystore-corrupt'
  readonly kind = 'invalid'
  readonly path: string
  constructor (path: string, detail: string) {
    super(`The node keystore ${path} is damaged (${detail}). Restore it from a backup, or move it away to create a new node identity.`)
    this.path = path
  }
}

export class WeakKeystoreError extends ConunError {
  override readonly name = 'WeakKeystoreError'
  readonly code = 'weak-keystore'
  readonly kind = 'refused'
  readonly path: string
  constructor (path: string, found: string, required: string) {
    super(`The keystore ${path} uses a light scrypt KDF (${found}), weaker than the ${required} conun requires here: its passphrase could be guessed quickly. ` +
      'Only a devnet node (--devnet, on the dev chain) opens such a key. Move it away to create a new node identity, or re-encrypt it with the standard KDF (e.g. with geth) and import that.')
    this.path = path
  }
}

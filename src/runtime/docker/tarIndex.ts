/**
 * A strict tar reader for image tarballs: it lists every entry the way the engine's own reader
 * (Go's archive/tar) would name it — ustar prefix, pax `path`/`linkpath`/`size` records, GNU long
 * names, header-only types whose size field is ignored — and refuses whatever two readers could
 * read differently: two entries with one name once `./`, `//` and trailing slashes are dropped,
 * `..` or absolute names, links that leave the archive, devices and FIFOs, stray or conflicting
 * meta headers, bad checksums, and bytes after the end of the archive. Data is not read, only
 * located, so a large layer costs one header read.
 */
import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { TAR_BLOCK } from './tarWriter.ts'
import { InvalidImageError } from './errors.ts'

/** Where an entry's data lies in the archive file. */
export interface TarFile {
  readonly kind: 'file'
  readonly offset: number
  readonly size: number
}
export type TarEntry =
  | TarFile
  | { readonly kind: 'directory' }
  /** `target` is the archive path the link names, resolved and checked to stay inside the archive. */
  | { readonly kind: 'link', readonly target: string }

/** Entries by normalised path (no `./`, no trailing slash). */
export type TarIndex = ReadonlyMap<string, TarEntry>

/** More entries than any image tarball has; the index is held in memory. */
const MAX_ENTRIES = 10_000
/** Pax records and GNU long names are short; they are read into memory. */
const MAX_META_BYTES = 64 * 1024
/** Links followed from one name before giving up (a loop, or a chain no saver writes). */
const MAX_LINK_HOPS = 8
/** Pax keys that change nothing conun reads, besides the three it applies. */
const HARMLESS_PAX_KEYS = new Set(['mtime', 'atime', 'ctime', 'uid', 'gid', 'uname', 'gname', 'comment'])
const HARMLESS_PAX_PREFIXES = ['SCHILY.xattr.', 'LIBARCHIVE.xattr.']
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Meta headers seen since the last entry, applied to the next one. */
interface Pending {
  pax?: Map<string, string>
  longName?: string
  longLink?: string
}

export async function readTarIndex (path: string): Promise<TarIndex> {
  const file = await open(path, 'r')
  try {
    const { size: archiveBytes } = await file.stat()
    const entries = new Map<string, TarEntry>()
    /** Every folder some entry lies in: none of them may be a file or a link. */
    const parents = new Set<string>()
    let pending: Pending = {}
    const header = Buffer.alloc(TAR_BLOCK)
    for (let at = 0; ;) {
      if (at + TAR_BLOCK > archiveBytes) throw refuse('it ends without the two zero blocks that close a tar archive')
      await file.read(header, 0, TAR_BLOCK, at)
      if (isZero(header)) {
        await checkEnd(file, at + TAR_BLOCK, archiveBytes)
        if (Object.keys(pending).length > 0) throw refuse('it ends on a pax or GNU header that describes no entry')
        return entries
      }
      checkHeader(header, at)
      const type = String.fromCharCode(header[156]!)
      const headerSize = numeric(header, 124, 12, 'size')
      const dataAt = at + TAR_BLOCK
      const readData = async (): Promise<Buffer> => {
        if (headerSize > MAX_META_BYTES) throw refuse(`a '${type}' header holds more than ${MAX_META_BYTES} bytes`)
        return readExactly(file, dataAt, headerSize, archiveBytes)
      }
      const next = (bytes: number) => dataAt + Math.ceil(bytes / TAR_BLOCK) * TAR_BLOCK
      if (type === 'x') {
        if (pending.pax !== undefined) throw refuse('two pax headers describe one entry')
        pending.pax = paxRecords(await readData())
        at = next(headerSize)
        continue
      }
      if (type === 'L' || type === 'K') {
        const key = type === 'L' ? 'longName' : 'longLink'
        if (pending[key] !== undefined) throw refuse(`two GNU long ${type === 'L' ? 'names' : 'link names'} describe one entry`)
        pending[key] = cString(await readData(), 'a GNU long name')
        at = next(headerSize)
        continue
      }
      const { pax, longName, longLink } = pending
      pending = {}
      const paxSize = pax?.get('size')
      const size = paxSize === undefined ? headerSize : decimal(paxSize)
      const name = entryName(header, pax?.get('path'), longName)
      const kind = entryKind(type, name)
      if (kind !== 'file' && size !== 0) throw refuse(`${name}: a ${kind} entry with ${size} bytes of data (tar readers disagree on whether to skip them)`)
      if (dataAt + size > archiveBytes) throw refuse(`${name}: its data runs past the end of the archive`)
      const path = normalise(name, name)
      if (path === '') {
        if (kind !== 'directory') throw refuse(`an entry named "${name}" that is not the archive's root folder`)
      } else {
        if (entries.has(path) || (kind !== 'directory' && parents.has(path))) throw refuse(`two entries are named ${path}`)
        const folders = path.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))
        for (const folder of folders) {
          if (entries.has(folder) && entries.get(folder)!.kind !== 'directory') throw refuse(`${path} lies under ${folder}, which is not a folder`)
          parents.add(folder)
        }
        if (kind === 'link') {
          const link = linkTarget(header, type, pax?.get('linkpath'), longLink, name)
          // A hard link names an archive path; a symlink is relative to its own folder.
          const target = type === '1' ? normalise(link, name) : resolveSymlink(folders.at(-1) ?? '', link, name)
          entries.set(path, { kind, target })
        } else {
          entries.set(path, kind === 'file' ? { kind, offset: dataAt, size } : { kind })
        }
        if (entries.size > MAX_ENTRIES) throw refuse(`it has more than ${MAX_ENTRIES} entries`)
      }
      at = next(size)
    }
  } finally {
    await file.close()
  }
}

/** The regular file at `path`, following links inside the archive. */
export function tarFile (index: TarIndex, path: string): TarFile {
  let name = normalise(path, path)
  for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
    const entry = index.get(name)
    if (entry === undefined) throw refuse(`it has no ${path}`)
    if (entry.kind === 'file') return entry
    if (entry.kind === 'directory') throw refuse(`${path} is a folder, not a file`)
    name = entry.target
  }
  throw refuse(`${path} is a chain of more than ${MAX_LINK_HOPS} links`)
}

/** Reads `size` bytes at `offset`, all of them or an error. */
export async function readExactly (file: FileHandle, offset: number, size: number, archiveBytes: number): Promise<Buffer> {
  if (offset + size > archiveBytes) throw refuse('an entry runs past the end of the archive')
  const bytes = Buffer.alloc(size)
  const { bytesRead } = await file.read(bytes, 0, size, offset)
  if (bytesRead !== size) throw refuse('the archive changed while it was read')
  return bytes
}

/** Drops `.` segments, empty segments and trailing slashes; refuses absolute paths and `..`. */
function normalise (raw: string, entry: string): string {
  if (raw.startsWith('/')) throw refuse(`${entry}: an absolute path (${raw})`)
  if (raw.includes('\\')) throw refuse(`${entry}: a backslash in ${raw}`)
  const parts = raw.split('/').filter(part => part !== '' && part !== '.')
  if (parts.includes('..')) throw refuse(`${entry}: a path with .. in it (${raw})`)
  return parts.join('/')
}

function resolveSymlink (folder: string, target: string, entry: string): string {
  if (target.startsWith('/')) throw refuse(`${entry}: a symlink to ${target}, outside the archive`)
  const parts = folder === '' ? [] : folder.split('/')
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue
    if (part !== '..') parts.push(part)
    else if (parts.pop() === undefined) throw refuse(`${entry}: a symlink to ${target}, outside the archive`)
  }
  return parts.join('/')
}

function entryKind (type: string, name: string): TarEntry['kind'] {
  switch (type) {
    case '0': case '\0': return 'file'
    case '5': return 'directory'
    case '1': case '2': return 'link'
    case '3': case '4': return refuseType(name, 'a device node')
    case '6': return refuseType(name, 'a FIFO')
    case 'g': return refuseType(name, 'a global pax header (it would rename every entry after it)')
    default: return refuseType(name, `an entry of type '${type}', which an image tarball does not hold`)
  }
}

function refuseType (name: string, what: string): never {
  throw refuse(`${name}: ${what}`)
}

/** POSIX ustar joins the prefix field before the name; in a GNU header those bytes are times, which no saver sets. */
function entryName (header: Buffer, paxPath: string | undefined, longName: string | undefined): string {
  if (paxPath !== undefined && longName !== undefined) throw refuse(`an entry named both by a pax path (${paxPath}) and a GNU long name (${longName})`)
  const gnu = isGnu(header)
  if (gnu && !isZero(header.subarray(345, 500))) throw refuse('a GNU header with data in the ustar prefix field')
  const prefix = gnu ? '' : text(header, 345, 155)
  const name = paxPath ?? longName ?? (prefix === '' ? text(header, 0, 100) : `${prefix}/${text(header, 0, 100)}`)
  if (name === '') throw refuse('an entry with no name')
  return name
}

function linkTarget (header: Buffer, type: string, paxLink: string | undefined, longLink: string | undefined, name: string): string {
  if (paxLink !== undefined && longLink !== undefined) throw refuse(`${name}: a link named both by a pax linkpath and a GNU long link name`)
  const target = paxLink ?? longLink ?? text(header, 157, 100)
  if (target === '') throw refuse(`${name}: a ${type === '1' ? 'hard link' : 'symlink'} to nothing`)
  return target
}

function checkHeader (header: Buffer, at: number): void {
  const magic = header.toString('latin1', 257, 265)
  if (magic !== 'ustar\u000000' && magic !== 'ustar  \u0000') throw refuse(`the header at byte ${at} is not a ustar, pax or GNU tar header`)
  const stored = numeric(header, 148, 8, 'checksum')
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < TAR_BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : header[i]!
    unsigned += byte
    signed += byte < 128 ? byte : byte - 256
  }
  if (stored !== unsigned && stored !== signed) throw refuse(`the header at byte ${at} has a wrong checksum`)
}

function isGnu (header: Buffer): boolean {
  return header.toString('latin1', 257, 263) === 'ustar '
}

/** Octal digits (space- or NUL-padded), or GNU base-256 for large positive values. */
function numeric (header: Buffer, offset: number, length: number, what: string): number {
  const bytes = header.subarray(offset, offset + length)
  if (bytes[0] === 0x80) {
    let value = 0n
    for (const byte of bytes.subarray(1)) value = (value << 8n) | BigInt(byte)
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw refuse(`a ${what} field too large to be true`)
    return Number(value)
  }
  const digits = bytes.toString('latin1').replace(/^[ \0]+|[ \0]+$/g, '')
  if (!/^[0-7]*$/.test(digits)) throw refuse(`a ${what} field that is not a number`)
  return digits === '' ? 0 : parseInt(digits, 8)
}

function decimal (value: string): number {
  if (!/^[0-9]{1,15}$/.test(value)) throw refuse(`a pax size record that is not a number (${value})`)
  return Number(value)
}

/** `<length> <key>=<value>\n` records; a key twice, a NUL in a value or a key conun does not know is refused. */
function paxRecords (data: Buffer): Map<string, string> {
  const records = new Map<string, string>()
  for (let at = 0; at < data.length;) {
    const space = data.indexOf(0x20, at)
    const lengthText = space === -1 ? '' : data.toString('latin1', at, space)
    const length = /^[1-9][0-9]{0,5}$/.test(lengthText) ? Number(lengthText) : 0
    const end = at + length
    if (length === 0 || end > data.length || end <= space + 1 || data[end - 1] !== 0x0a) throw refuse('a malformed pax record')
    const record = decode(data.subarray(space + 1, end - 1), 'a pax record')
    const equals = record.indexOf('=')
    if (equals <= 0) throw refuse('a malformed pax record')
    const key = record.slice(0, equals)
    const value = record.slice(equals + 1)
    if (records.has(key)) throw refuse(`a pax header that sets ${key} twice`)
    if (value.includes('\0')) throw refuse(`a pax ${key} record with a NUL byte in it`)
    const known = key === 'path' || key === 'linkpath' || key === 'size' || HARMLESS_PAX_KEYS.has(key) || HARMLESS_PAX_PREFIXES.some(prefix => key.startsWith(prefix))
    if (!known) throw refuse(`a pax record conun does not read (${key}), which could change an entry's name or data`)
    if ((key === 'path' || key === 'linkpath') && value === '') throw refuse(`an empty pax ${key} record`)
    records.set(key, value)
    at = end
  }
  return records
}

/** A GNU long name: the name, then NUL bytes only. */
function cString (data: Buffer, what: string): string {
  const end = data.indexOf(0)
  if (end !== -1 && !isZero(data.subarray(end))) throw refuse(`${what} with bytes after its end`)
  const value = decode(end === -1 ? data : data.subarray(0, end), what)
  if (value === '') throw refuse(`an empty ${what}`)
  return value
}

function text (header: Buffer, offset: number, length: number): string {
  const bytes = header.subarray(offset, offset + length)
  const end = bytes.indexOf(0)
  return decode(end === -1 ? bytes : bytes.subarray(0, end), 'a name')
}

function decode (bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw refuse(`${what} that is not UTF-8`)
  }
}

/** After the first zero block: a second one, then nothing but zeros (a reader that skips zero blocks would read on). */
async function checkEnd (file: FileHandle, from: number, archiveBytes: number): Promise<void> {
  if (from + TAR_BLOCK > archiveBytes) throw refuse('it ends after one zero block instead of two')
  const chunk = Buffer.alloc(64 * 1024)
  for (let at = from; at < archiveBytes; at += chunk.length) {
    const { bytesRead } = await file.read(chunk, 0, chunk.length, at)
    if (!isZero(chunk.subarray(0, bytesRead))) throw refuse('it has data after the end of the archive')
  }
}

function isZero (bytes: Uint8Array): boolean {
  return bytes.every(byte => byte === 0)
}

function refuse (why: string): InvalidImageError {
  return new InvalidImageError(`the image tarball is refused: ${why}`)
}

/**
 * Writes tar headers (POSIX ustar, or GNU for its long-name records): what the provider hands the
 * engine is always an archive it wrote itself, never the requester's bytes as they came.
 */
export const TAR_BLOCK = 512
/** Two zero blocks end an archive. (A Uint8Array: the browser's WASI worker bundles runtime/index.ts, and has no Buffer.) */
export const TAR_END = new Uint8Array(2 * TAR_BLOCK)
/** Numeric fields hold 11 octal digits; larger sizes take the base-256 form that tar readers accept. */
const MAX_OCTAL_SIZE = 8 ** 11 - 1

export interface TarHeaderFields {
  readonly name: string
  /** `0` file, `1` hard link, `2` symlink, `3`/`4` devices, `5` directory, `x` pax record, `L` GNU long name. */
  readonly type: string
  readonly mode?: number
  readonly size?: number
  readonly link?: string
  /** The ustar prefix, joined before `name` by a `/`. */
  readonly prefix?: string
  /** GNU magic (`ustar  `) instead of POSIX ustar (`ustar\0` `00`). */
  readonly gnu?: boolean
}

export function tarHeader (entry: TarHeaderFields): Buffer {
  const block = Buffer.alloc(TAR_BLOCK)
  const field = (offset: number, length: number, value: string) => {
    if (Buffer.byteLength(value) > length) throw new Error(`tar header: "${value}" does not fit in ${length} bytes`)
    block.write(value, offset, length, 'utf8')
  }
  const octal = (offset: number, length: number, value: number) => field(offset, length, value.toString(8).padStart(length - 1, '0'))
  field(0, 100, entry.name)
  octal(100, 8, entry.mode ?? 0o644)
  octal(108, 8, 0)
  octal(116, 8, 0)
  const size = entry.size ?? 0
  if (size <= MAX_OCTAL_SIZE) octal(124, 12, size)
  else {
    block[124] = 0x80
    block.writeBigUInt64BE(BigInt(size), 128)
  }
  octal(136, 12, 0)
  field(148, 8, '        ')
  field(156, 1, entry.type)
  field(157, 100, entry.link ?? '')
  if (entry.gnu === true) field(257, 8, 'ustar  ')
  else {
    field(257, 6, 'ustar\0')
    field(263, 2, '00')
    field(345, 155, entry.prefix ?? '')
  }
  let sum = 0
  for (const byte of block) sum += byte
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `)
  return block
}

/** Zero bytes that fill an entry of `size` bytes up to whole blocks. */
export function tarPadding (size: number): Buffer {
  const rest = size % TAR_BLOCK
  return Buffer.alloc(rest === 0 ? 0 : TAR_BLOCK - rest)
}

/** One entry of an archive that `tarball` writes; the header's size is the data's unless given. */
export interface TarEntry extends Omit<TarHeaderFields, 'type'> {
  /** Default `0`, a file. */
  readonly type?: string
  readonly data?: Uint8Array | string
}

/** A whole archive in memory: every entry's header, data and padding, then the end blocks. */
export function tarball (entries: readonly TarEntry[]): Buffer {
  return Buffer.concat([
    ...entries.flatMap(entry => {
      const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : entry.data ?? Buffer.alloc(0)
      return [tarHeader({ ...entry, type: entry.type ?? '0', size: entry.size ?? data.length }), data, tarPadding(data.length)]
    }),
    TAR_END,
  ])
}

/** One pax record: its length counts its own digits. */
export function paxRecord (key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let length = Buffer.byteLength(body)
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body)
  return `${length}${body}`
}

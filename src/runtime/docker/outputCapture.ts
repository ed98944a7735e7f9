/**
 * Reads Docker's multiplexed attach stream (no TTY): frames of an 8-byte header — stream type
 * (1 stdout, 2 stderr), three zero bytes, payload size big-endian — then the payload. Keeps at most
 * `limitBytes` of stdout + stderr together and reports the first byte past it.
 */
export class OutputCapture {
  private readonly limitBytes: number
  private readonly onOverflow: () => void
  private readonly kept: { stdout: Buffer[], stderr: Buffer[] } = { stdout: [], stderr: [] }
  private pending: Buffer = Buffer.alloc(0)
  private keptBytes = 0
  private overflowed = false

  constructor (limitBytes: number, onOverflow: () => void) {
    this.limitBytes = limitBytes
    this.onOverflow = onOverflow
  }

  push (chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4)
      if (this.pending.length < 8 + size) return
      const stream = this.pending[0] === 2 ? 'stderr' : 'stdout'
      this.keep(stream, this.pending.subarray(8, 8 + size))
      this.pending = this.pending.subarray(8 + size)
    }
  }

  get stdout (): Uint8Array { return Buffer.concat(this.kept.stdout) }
  get stderr (): Uint8Array { return Buffer.concat(this.kept.stderr) }
  get bytes (): number { return this.keptBytes }

  private keep (stream: 'stdout' | 'stderr', payload: Buffer): void {
    if (this.overflowed) return
    const room = this.limitBytes - this.keptBytes
    // Copied: the payload is a view into a buffer that is about to be dropped or reused.
    this.kept[stream].push(Buffer.from(payload.subarray(0, Math.max(0, room))))
    this.keptBytes += Math.min(room, payload.length)
    if (payload.length > room) {
      this.overflowed = true
      this.onOverflow()
    }
  }
}

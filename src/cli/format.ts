/** Small helpers for human-readable output. */

export function formatBytes (bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}

/** A fixed-width text table. */
export function table (header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map(row => row[column]?.length ?? 0)))
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

export function shortId (peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 6)}…${peerId.slice(-6)}` : peerId
}

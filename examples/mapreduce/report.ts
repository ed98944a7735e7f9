/** The word count's report as Markdown tables, as the example prints them. */
import type { MapReduceReport } from './mapreduce.ts'

const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
const megabytes = (bytes: number) => (bytes / 1e6).toFixed(bytes < 1e7 ? 3 : 1)
const rate = (bytes: number, seconds: number) => (bytes / 1e6 / seconds).toFixed(1)

/** The report as a Markdown table (the README shows one). */
export function formatReport (report: MapReduceReport): string {
  const { upload, map, reduce } = report
  const gridSeconds = upload.seconds + map.seconds + reduce.seconds
  const short = (peerId: string) => `…${peerId.slice(-8)}`
  return [
    `${megabytes(upload.bytes)} MB of text (${report.sources.join(', ')}) in ${report.shards} shards, ${report.partitions} partitions, ${report.providers} providers`,
    `${report.words} words, ${report.distinct} distinct`,
    '',
    row(['', 'tasks', 'seconds', 'MB in', 'MB out', 'MB/s in']),
    row(['---', '--:', '--:', '--:', '--:', '--:']),
    row(['store the shards on the requester', '', upload.seconds.toFixed(2), megabytes(upload.bytes), '', rate(upload.bytes, upload.seconds)]),
    row(['map (shards → partition files)', map.tasks, map.seconds.toFixed(2), megabytes(map.bytesIn), megabytes(map.bytesOut), rate(map.bytesIn, map.seconds)]),
    row(['reduce (partition r of every map output, by CID)', reduce.tasks, reduce.seconds.toFixed(2), megabytes(reduce.bytesIn), megabytes(reduce.bytesOut), rate(reduce.bytesIn, reduce.seconds)]),
    row(['grid, all of it', map.tasks + reduce.tasks, gridSeconds.toFixed(2), megabytes(upload.bytes), megabytes(reduce.bytesOut), rate(upload.bytes, gridSeconds)]),
    row(['one Node process (the baseline)', 1, report.baselineSeconds.toFixed(2), megabytes(upload.bytes), megabytes(report.counts.length), rate(upload.bytes, report.baselineSeconds)]),
    '',
    `tasks per provider: ${[...report.perProvider].map(([peerId, tasks]) => `${short(peerId)} ${tasks}`).join(', ')}`,
    `output: ${report.verified ? 'identical to' : 'DIFFERENT from'} the baseline's counts (${report.counts.length} bytes)`,
  ].join('\n')
}

/** The most frequent words, as a table. */
export function formatTopWords (counts: Buffer, top: number): string {
  const words = counts.toString('latin1').split('\n').filter(Boolean).map(line => line.split('\t') as [string, string])
  words.sort((a, b) => Number(b[1]) - Number(a[1]) || (a[0] < b[0] ? -1 : 1))
  return ['| word | count |', '| --- | --: |', ...words.slice(0, top).map(([word, count]) => row([word, count]))].join('\n')
}

/**
 * The sequence search's data: protein sequences read from the files Debian's emboss-test package
 * ships (Swiss-Prot/TrEMBL flat files and FASTA), split into shards of about equal residue count,
 * written as FASTA for the WebAssembly aligner and for EMBOSS water.
 */
import { readFile } from 'node:fs/promises'

export interface Sequence {
  readonly id: string
  readonly residues: string
}

/** Where emboss-test and emboss-data put their files. */
export const EMBOSS_SHARE = '/usr/share/EMBOSS'
/** The database: 100 Swiss-Prot and 9 TrEMBL entries, and 15 C. elegans proteins (wormpep). */
export const DATABASE_FILES = ['test/swiss/seq.dat', 'test/swnew/trembl.dat', 'test/wormpep/wormpep'] as const
/** The queries: globins and rhodopsins, whose relatives are in the database. */
export const QUERY_FILES = ['test/data/globins.fasta', 'test/data/ops.fasta', 'test/data/opsd.fasta'] as const
/** BLOSUM62 as EMBOSS ships it, the matrix water uses for proteins by default. */
export const MATRIX_FILE = 'data/EBLOSUM62'

export class SequenceFormatError extends Error {
  override readonly name = 'SequenceFormatError'
}

/** Sequences from FASTA text: the id is the header's first word, residues are the letters. */
export function parseFasta (text: string, source: string): Sequence[] {
  const records = text.split(/^>/m)
  if (records[0]!.trim() !== '') throw new SequenceFormatError(`${source} is not FASTA: it does not start with '>'`)
  return records.slice(1).map(record => {
    const newline = record.indexOf('\n')
    const id = record.slice(0, newline < 0 ? record.length : newline).trim().split(/\s+/)[0] ?? ''
    if (id === '') throw new SequenceFormatError(`${source}: a FASTA header has no id`)
    return { id, residues: newline < 0 ? '' : record.slice(newline).replace(/[^A-Za-z*]/g, '').toUpperCase() }
  })
}

/** Entries of a Swiss-Prot/UniProt flat file: the ID line's name and the SQ block's residues. */
export function parseSwissProt (text: string, source: string): Sequence[] {
  const sequences: Sequence[] = []
  let id: string | undefined
  let residues: string[] | undefined
  for (const [n, line] of text.split('\n').entries()) {
    if (line.startsWith('ID   ')) {
      id = line.slice(5).trim().split(/\s+/)[0]
    } else if (line.startsWith('SQ   ')) {
      residues = []
    } else if (line.startsWith('//')) {
      if (id === undefined || residues === undefined) throw new SequenceFormatError(`${source} line ${n + 1}: an entry ends without an ID line and a sequence`)
      sequences.push({ id, residues: residues.join('') })
      id = undefined
      residues = undefined
    } else if (residues !== undefined) {
      residues.push(line.replace(/[^A-Za-z]/g, '').toUpperCase())
    }
  }
  if (id !== undefined) throw new SequenceFormatError(`${source}: the entry ${id} has no closing //`)
  return sequences
}

/** Reads a sequence file, FASTA or Swiss-Prot flat file by its first character. */
export async function readSequences (path: string): Promise<Sequence[]> {
  const text = await readFile(path, 'utf8')
  return text.trimStart().startsWith('>') ? parseFasta(text, path) : parseSwissProt(text, path)
}

/** Reads several files into one list; ids must be unique, as hits are keyed by them. */
export async function readSequenceFiles (paths: readonly string[]): Promise<Sequence[]> {
  const all = (await Promise.all(paths.map(readSequences))).flat()
  const seen = new Set<string>()
  for (const { id, residues } of all) {
    if (seen.has(id)) throw new SequenceFormatError(`sequence id ${id} occurs twice in ${paths.join(', ')}`)
    if (residues.length === 0) throw new SequenceFormatError(`sequence ${id} is empty`)
    seen.add(id)
  }
  return all
}

/**
 * Splits sequences into `count` shards of about equal residue count (longest first, each to the
 * lightest shard), each keeping the input order. Every shard gets at least one sequence.
 */
export function shardSequences (sequences: readonly Sequence[], count: number): Sequence[][] {
  if (!Number.isSafeInteger(count) || count < 1 || count > sequences.length) {
    throw new RangeError(`shards must be 1..${sequences.length} (one sequence each at least), got ${count}`)
  }
  const load = new Array<number>(count).fill(0)
  const owner = new Map<Sequence, number>()
  const byLength = [...sequences].sort((a, b) => b.residues.length - a.residues.length)
  for (const sequence of byLength) {
    const lightest = load.indexOf(Math.min(...load))
    owner.set(sequence, lightest)
    load[lightest]! += sequence.residues.length
  }
  return load.map((_, shard) => sequences.filter(sequence => owner.get(sequence) === shard))
}

/** FASTA text, 60 residues a line. */
export function toFasta (sequences: readonly Sequence[]): string {
  return sequences.map(({ id, residues }) => `>${id}\n${residues.replace(/(.{60})/g, '$1\n').replace(/\n$/, '')}\n`).join('')
}

/** Residues in all of them. */
export function residueCount (sequences: readonly Sequence[]): number {
  return sequences.reduce((sum, s) => sum + s.residues.length, 0)
}

/* The replica's term and vote in a small file of its own, `raft-hardstate.bin`: one CRC-framed
 * record, replaced atomically (a fresh temp file written and synced, renamed over the name, the
 * directory synced) whenever term or vote changes; commit stays in the log's records only.
 * Invariant: the name only ever holds a whole, synced record (a crash mid-replace leaves the old
 * file and at most a torn temp file, which recovery ignores and removes).
 * Recovery merges the file with the log's hard-state records: the newer wins (higher term; same
 * term: the one that has voted), so an old data dir without the file opens, and a crash between
 * the two writes loses nothing. A corrupt file (a rename only ever publishes a synced record, so
 * this is media damage) is an error unless the records alone are consistent: their term is at
 * least every log entry's and the snapshot's. The records always are when this code wrote them,
 * as every term/vote change is also a log record synced before any message depending on it
 * leaves; the file then adds nothing the records lack and is rewritten from them. */
import { assert } from '../core/assert.js'
import type { Disk } from '../core/ports.js'
import type { HardState } from '../raft/index.js'
import { encodeRecord, scanRecords } from './log-codec.js'

export const hardStateFileName = 'raft-hardstate.bin'
/** Temp files: `raft-hardstate-<generation>-<seq>.tmp`, new names for every process and write. */
export const hardStateTempPattern = /^raft-hardstate-\d+-\d+\.tmp$/

export interface TermVote {
  readonly term: number
  readonly vote: number
}

/** What the file holds: absent (an old data dir, or none written yet), corrupt, or a term/vote. */
export type HardStateFile =
  | { readonly kind: 'absent' }
  | { readonly kind: 'corrupt' }
  | { readonly kind: 'found'; readonly termVote: TermVote }

export function readHardStateFile(disk: Disk, dir: string): HardStateFile {
  const path = `${dir}/${hardStateFileName}`
  if (!disk.exists(path)) return { kind: 'absent' }
  const bytes = disk.readFileSync(path)
  const { records, validBytes } = scanRecords(bytes)
  const record = records[0]
  if (records.length !== 1 || validBytes !== bytes.byteLength || record?.type !== 'hard') {
    return { kind: 'corrupt' }
  }
  return { kind: 'found', termVote: { term: record.hardState.term, vote: record.hardState.vote } }
}

/** Replaces the file atomically with `termVote`, durable on return; `tempName` must be new. */
export function writeHardStateFile(
  disk: Disk,
  dir: string,
  tempName: string,
  termVote: TermVote,
): void {
  const tempPath = `${dir}/${tempName}`
  const temp = disk.openSync(tempPath, 'append')
  try {
    assert(temp.size() === 0, 'a hard-state temp file is new')
    const hardState: HardState = { term: termVote.term, vote: termVote.vote, commit: 0 }
    temp.appendSync(encodeRecord({ type: 'hard', hardState }))
    temp.syncSync()
  } finally {
    temp.closeSync()
  }
  disk.renameSync(tempPath, `${dir}/${hardStateFileName}`)
}

/** True when `a` is strictly newer than `b`: a higher term, or the same term with a vote. */
export function isNewerTermVote(a: TermVote, b: TermVote): boolean {
  return a.term > b.term || (a.term === b.term && a.vote !== 0 && b.vote === 0)
}

/**
 * The hard state recovery starts from: the records' commit with the newer term/vote of the two.
 * `floorTerm` is the highest term the log's entries and snapshot carry (the consistency check
 * that lets the records stand alone when the file is corrupt).
 */
export function mergeHardState(
  records: HardState,
  file: HardStateFile,
  floorTerm: number,
  where: string,
): HardState {
  if (file.kind === 'absent') return records
  if (file.kind === 'corrupt') {
    assert(
      records.term >= floorTerm,
      `corrupt ${hardStateFileName} in ${where} and the log's term ${records.term} is below ` +
        `its entries' ${floorTerm}`,
    )
    return records
  }
  const { term, vote } = file.termVote
  assert(
    term !== records.term || vote === 0 || records.vote === 0 || vote === records.vote,
    `${hardStateFileName} in ${where} voted for ${vote} in term ${term}, the log for ${records.vote}`,
  )
  return isNewerTermVote(file.termVote, records) ? { term, vote, commit: records.commit } : records
}

/**
 * The ledger of misses: every 404 a node got from the registry or a file
 * root, counted per distinct thing asked for, so the list of what to add
 * to the bundle can be read off a running mirror. Bounded: past MAX_ROWS
 * the least recently seen entries go.
 */
import type { Db } from './db.js'

export type MissKind = 'image' | 'blob' | 'file'

export interface MissRow {
  kind: MissKind
  ref: string
  count: number
  firstSeen: string
  lastSeen: string
  client: string | null
  userAgent: string | null
  detail: Record<string, unknown> | null
}

/**
 * A ledger entry as one printable token: whitespace, control and format
 * characters are percent-encoded, so no entry ever spans lines or splits
 * into several in a list read by a bundle build.
 */
export const escapeRef = (ref: string): string => ref.replace(/[\s\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => encodeURIComponent(c))

export const MAX_ROWS = 10_000
const PRUNE_EVERY = 200

export class Misses {
  private writes = 0
  private readonly upsert
  constructor(private readonly db: Db) {
    this.upsert = db.prepare(`
      INSERT INTO misses (kind, ref, count, first_seen, last_seen, client, user_agent, detail)
      VALUES (@kind, @ref, 1, @now, @now, @client, @ua, @detail)
      ON CONFLICT(kind, ref) DO UPDATE SET count = count + 1, last_seen = @now,
        client = @client, user_agent = @ua, detail = @detail`)
  }

  record(
    kind: MissKind,
    ref: string,
    info: { client?: string | undefined; userAgent?: string | undefined; detail?: Record<string, unknown> } = {},
  ): void {
    this.upsert.run({
      kind,
      ref: escapeRef(ref).slice(0, 2048),
      now: Date.now(),
      client: info.client ?? null,
      ua: info.userAgent?.slice(0, 512) ?? null,
      detail: info.detail ? JSON.stringify(info.detail) : null,
    })
    if (++this.writes % PRUNE_EVERY === 0) this.prune()
  }

  prune(max = MAX_ROWS): void {
    this.db.prepare('DELETE FROM misses WHERE rowid IN (SELECT rowid FROM misses ORDER BY last_seen DESC LIMIT -1 OFFSET ?)').run(max)
  }

  list(kind?: MissKind): MissRow[] {
    const rows = this.db
      .prepare(
        'SELECT kind, ref, count, first_seen, last_seen, client, user_agent, detail FROM misses WHERE (? IS NULL OR kind = ?) ORDER BY count DESC, last_seen DESC',
      )
      .all(kind ?? null, kind ?? null) as Array<Record<string, string | number | null>>
    return rows.map((r) => ({
      kind: r.kind as MissKind,
      ref: escapeRef(r.ref as string),
      count: r.count as number,
      firstSeen: new Date(r.first_seen as number).toISOString(),
      lastSeen: new Date(r.last_seen as number).toISOString(),
      client: r.client as string | null,
      userAgent: r.user_agent as string | null,
      detail: r.detail ? (JSON.parse(r.detail as string) as Record<string, unknown>) : null,
    }))
  }
}

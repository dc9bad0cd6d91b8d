/**
 * The nodes that checked in, in the catalog database. One row per host name
 * (what kubespray keys its inventory on): the latest report as JSON, plus
 * the columns Outpost computes itself. Unlike the catalog's cache tables
 * these rows cannot be rebuilt from disk, so the report is kept as JSON and
 * the schema version only changes when the columns must.
 */
import type { Db } from '../catalog/db.js'
import { applySchema, type Schema } from '../catalog/db.js'
import type { Checkin, OffsetEstimate } from './checkin.js'

export const NODES_SCHEMA: Schema = {
  name: 'nodes',
  version: 1,
  tables: ['nodes'],
  ddl: `
    CREATE TABLE IF NOT EXISTS nodes (
      hostname TEXT PRIMARY KEY,
      report TEXT NOT NULL,
      remote_address TEXT,
      first_seen_ms INTEGER NOT NULL,
      last_seen_ms INTEGER NOT NULL,
      checkins INTEGER NOT NULL,
      clock_offset_ms REAL,
      clock_uncertainty_ms REAL,
      ntp_offset_ms REAL
    ) STRICT;
  `,
}

/** What a node reported, normalised: absent and null fields are gone. */
export interface NodeReport {
  hostname: string
  machineId?: string
  addresses: string[]
  os?: { id?: string; version?: string; name?: string }
  arch?: string
  kernel?: string
  runtime?: { name?: string; version?: string }
  clockMs?: number
  clockPrecisionMs?: number
  ntpOffsetMs?: number
  labels: Record<string, string>
}

export interface NodeRecord {
  report: NodeReport
  /** The TCP peer of the last check-in. */
  remoteAddress: string | null
  firstSeenMs: number
  lastSeenMs: number
  checkins: number
  /** Node − Outpost at the last check-in, ms (null when the node sent no clock). */
  clockOffsetMs: number | null
  clockUncertaintyMs: number | null
  /** The node's own offset from its NTP source, ms, when it reported one. */
  ntpOffsetMs: number | null
}

/** Drops null/undefined members, recursively through plain objects. */
const compact = <T>(value: T): T => {
  if (Array.isArray(value)) return value.map(compact) as T
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) continue
      const c = compact(v)
      if (c && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0) continue
      out[k] = c
    }
    return out as T
  }
  return value
}

export const toReport = (checkin: Checkin): NodeReport => {
  const c = compact(checkin) as Omit<NodeReport, 'addresses' | 'labels'> & Partial<Pick<NodeReport, 'addresses' | 'labels'>>
  return { ...c, addresses: c.addresses ?? [], labels: c.labels ?? {} }
}

interface Row {
  hostname: string
  report: string
  remote_address: string | null
  first_seen_ms: number
  last_seen_ms: number
  checkins: number
  clock_offset_ms: number | null
  clock_uncertainty_ms: number | null
  ntp_offset_ms: number | null
}

const fromRow = (r: Row): NodeRecord => ({
  report: JSON.parse(r.report) as NodeReport,
  remoteAddress: r.remote_address,
  firstSeenMs: r.first_seen_ms,
  lastSeenMs: r.last_seen_ms,
  checkins: r.checkins,
  clockOffsetMs: r.clock_offset_ms,
  clockUncertaintyMs: r.clock_uncertainty_ms,
  ntpOffsetMs: r.ntp_offset_ms,
})

export interface CheckinRecord {
  receivedMs: number
  remoteAddress: string | null
  offset: OffsetEstimate | null
  /** The check-in sent no labels at all: keep the ones the node sent before. */
  keepLabels?: boolean
}

export class NodeStore {
  private readonly upsert
  private readonly selectAll
  private readonly selectOne

  constructor(db: Db) {
    applySchema(db, NODES_SCHEMA)
    this.upsert = db.prepare(`
      INSERT INTO nodes (hostname, report, remote_address, first_seen_ms, last_seen_ms, checkins, clock_offset_ms, clock_uncertainty_ms, ntp_offset_ms)
      VALUES (@hostname, @report, @remote_address, @seen, @seen, 1, @clock_offset_ms, @clock_uncertainty_ms, @ntp_offset_ms)
      ON CONFLICT(hostname) DO UPDATE SET
        report = excluded.report,
        remote_address = excluded.remote_address,
        last_seen_ms = excluded.last_seen_ms,
        checkins = nodes.checkins + 1,
        clock_offset_ms = excluded.clock_offset_ms,
        clock_uncertainty_ms = excluded.clock_uncertainty_ms,
        ntp_offset_ms = excluded.ntp_offset_ms
    `)
    this.selectAll = db.prepare('SELECT * FROM nodes ORDER BY hostname')
    this.selectOne = db.prepare('SELECT * FROM nodes WHERE hostname = ?')
  }

  /** Records a check-in and returns the node as now stored. */
  record(report: NodeReport, at: CheckinRecord): NodeRecord {
    if (at.keepLabels) report = { ...report, labels: this.get(report.hostname)?.report.labels ?? report.labels }
    this.upsert.run({
      hostname: report.hostname,
      report: JSON.stringify(report),
      remote_address: at.remoteAddress,
      seen: Math.round(at.receivedMs),
      clock_offset_ms: at.offset?.offsetMs ?? null,
      clock_uncertainty_ms: at.offset?.uncertaintyMs ?? null,
      ntp_offset_ms: report.ntpOffsetMs ?? null,
    })
    return this.get(report.hostname)!
  }

  get(hostname: string): NodeRecord | undefined {
    const row = this.selectOne.get(hostname) as Row | undefined
    return row ? fromRow(row) : undefined
  }

  list(): NodeRecord[] {
    return (this.selectAll.all() as Row[]).map(fromRow)
  }
}

/**
 * The catalog's writes, and whether they all went in. A write that fails
 * (data_dir full or read-only) does not throw: the catalog is marked
 * behind, readiness says so, and the watcher's poll asks it to catch up:
 * once data_dir takes writes again, everything is scanned again so what
 * changed meanwhile reaches the catalog. Logged once per such spell.
 */
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import type { Db } from './db.js'
import { spaceProblem } from './space.js'

/** The catalog missed changes: a write failed (data_dir full or read-only), and when. */
export interface CatalogBehind {
  since: string
  error: string
}

export class CatalogWrites {
  private failed: CatalogBehind | null = null

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  get behind(): CatalogBehind | null {
    return this.failed
  }

  /** The folder of the database file (data_dir); null for one in memory. */
  get dataDir(): string | null {
    const name = this.db.name
    return name && name !== ':memory:' ? dirname(name) : null
  }

  /** Runs a write; false (and the catalog behind) when it failed. */
  run(what: string, job: () => void): boolean {
    try {
      job()
      return true
    } catch (err) {
      const e = err as { code?: string; message: string }
      if (!this.failed) {
        this.failed = { since: new Date().toISOString(), error: e.code ?? e.message }
        this.logger.warn(
          { code: e.code, what, data_dir: this.dataDir },
          `catalog write failed (${e.code ?? e.message}): the catalog is behind the disk until data_dir can be written again, then everything is scanned again`,
        )
      }
      return false
    }
  }

  /**
   * Starts a catch-up when data_dir takes writes again: returns what the
   * catalog was behind since (the mark is cleared, so a write that fails
   * during the rescan marks it again), or null when it is not time yet.
   */
  async beginCatchUp(): Promise<CatalogBehind | null> {
    const was = this.failed
    if (!was) return null
    const dir = this.dataDir
    if (dir && (await spaceProblem(dir))) return null
    this.failed = null
    return was
  }
}

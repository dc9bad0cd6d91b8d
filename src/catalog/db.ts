/**
 * The catalog database: SQLite (better-sqlite3, WAL) under the data dir.
 * It is a cache of what is on disk plus the records Outpost keeps itself
 * (misses, nodes). The disk stays the source of truth: a schema change
 * drops and rebuilds the cache tables.
 *
 * Each feature owns its tables through a `Schema` (name, version, DDL).
 * A schema whose stored version differs is dropped and created anew.
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

export type Db = Database.Database

export interface Schema {
  /** Owner of the tables, e.g. `catalog`, `nodes`. */
  name: string
  version: number
  /** Tables this schema creates (dropped on a version change). */
  tables: string[]
  /** Tables earlier versions created and this one does not: dropped on a version change too. */
  retired?: string[]
  /** CREATE statements. */
  ddl: string
}

export const CATALOG_FILE = 'catalog.db'

export const openDb = (dataDir: string | ':memory:'): Db => {
  let path = ':memory:'
  if (dataDir !== ':memory:') {
    mkdirSync(dataDir, { recursive: true })
    path = join(dataDir, CATALOG_FILE)
  }
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.exec('CREATE TABLE IF NOT EXISTS schema_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL)')
  return db
}

/** Creates a schema's tables, or recreates them when the stored version differs. */
export const applySchema = (db: Db, schema: Schema): { rebuilt: boolean } => {
  const row = db.prepare('SELECT version FROM schema_versions WHERE name = ?').get(schema.name) as { version: number } | undefined
  if (row?.version === schema.version) {
    db.exec(schema.ddl)
    return { rebuilt: false }
  }
  db.transaction(() => {
    for (const t of [...schema.tables, ...(schema.retired ?? [])]) db.exec(`DROP TABLE IF EXISTS ${t}`)
    db.exec(schema.ddl)
    db.prepare('INSERT INTO schema_versions (name, version) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version').run(
      schema.name,
      schema.version,
    )
  })()
  return { rebuilt: row !== undefined }
}

/**
 * The catalog database: SQLite (better-sqlite3, WAL) under the data dir.
 * It is a cache of what is on disk plus the records Outpost keeps itself
 * (misses, nodes). The disk stays the source of truth: a schema change
 * drops and rebuilds the cache tables.
 *
 * Each feature owns its tables through a `Schema` (name, version, DDL).
 * A schema whose stored version differs is dropped and created anew.
 *
 * data_dir is Outpost's own: made 0700 and the database files (with the
 * -wal and -shm files SQLite gives the database's mode) 0600, whatever the
 * umask. An existing Outpost data_dir left open to others by an earlier
 * version is closed too.
 */
import Database from 'better-sqlite3'
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs'
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
export const DATA_DIR_MODE = 0o700
export const DATA_FILE_MODE = 0o600

/** Sets `mode` on a path Outpost owns (root owns all); quiet when it cannot. */
export const restrictMode = (path: string, mode: number): void => {
  try {
    const st = statSync(path)
    const uid = process.getuid?.()
    if ((st.mode & 0o7777) !== mode && (uid === 0 || uid === st.uid)) chmodSync(path, mode)
  } catch {
    // Gone, or not ours to change: left as it is.
  }
}

/**
 * Makes data_dir (0700), or closes an existing one that is empty or holds
 * Outpost's files. A folder shared with others (sticky, like /tmp) or one
 * that holds anything else (data_dir pointed at /var/lib by mistake) is
 * left as it is.
 */
export const prepareDataDir = (dataDir: string): void => {
  mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE })
  if ((statSync(dataDir).mode & 0o1000) !== 0) return
  const names = readdirSync(dataDir)
  if (names.length === 0 || names.includes(CATALOG_FILE) || names.includes('tls')) restrictMode(dataDir, DATA_DIR_MODE)
}

/** The database file made (or kept) 0600 before SQLite opens it, and its -wal and -shm with it. */
const prepareDbFiles = (path: string): void => {
  closeSync(openSync(path, 'a', DATA_FILE_MODE))
  for (const p of [path, `${path}-wal`, `${path}-shm`]) restrictMode(p, DATA_FILE_MODE)
}

export const openDb = (dataDir: string | ':memory:'): Db => {
  let path = ':memory:'
  if (dataDir !== ':memory:') {
    prepareDataDir(dataDir)
    path = join(dataDir, CATALOG_FILE)
    prepareDbFiles(path)
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

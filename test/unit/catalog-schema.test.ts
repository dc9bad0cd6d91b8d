/** The catalog's tables are a cache: a schema change drops and rebuilds them, retired tables included. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { applySchema, openDb, type Schema } from '../../src/catalog/db.js'
import { CATALOG_SCHEMA } from '../../src/catalog/schema.js'

const tablesOf = (db: ReturnType<typeof openDb>): string[] =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name)

test('a catalog from version 1 is rebuilt, and its scan_state table goes', () => {
  const db = openDb(':memory:')
  try {
    const v1: Schema = {
      name: 'catalog',
      version: 1,
      tables: ['images', 'scan_state'],
      ddl: `CREATE TABLE IF NOT EXISTS images (store TEXT, repository TEXT, tag TEXT, digest TEXT, media_type TEXT, platforms TEXT, size INTEGER, PRIMARY KEY (store, repository, tag));
            CREATE TABLE IF NOT EXISTS scan_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
    }
    assert.deepEqual(applySchema(db, v1), { rebuilt: false }, 'a new database is created, not rebuilt')
    db.prepare("INSERT INTO images VALUES ('s', 'r', 't', 'd', 'm', '[]', 1)").run()
    db.prepare("INSERT INTO scan_state VALUES ('k', 'v')").run()

    assert.deepEqual(applySchema(db, CATALOG_SCHEMA), { rebuilt: true })
    const tables = tablesOf(db)
    assert.ok(!tables.includes('scan_state'), tables.join(', '))
    for (const t of CATALOG_SCHEMA.tables) assert.ok(tables.includes(t), t)
    assert.equal((db.prepare('SELECT count(*) AS n FROM images').get() as { n: number }).n, 0, 'the cache starts empty')

    assert.deepEqual(applySchema(db, CATALOG_SCHEMA), { rebuilt: false }, 'the same version is kept')
  } finally {
    db.close()
  }
})

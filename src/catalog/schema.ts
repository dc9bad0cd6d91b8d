/**
 * The catalog's tables. Everything here can be rebuilt from disk, except
 * `misses`, which is Outpost's own record of what nodes asked for and did
 * not get (it survives restarts; a schema change resets it).
 */
import type { Schema } from './db.js'

export const CATALOG_SCHEMA: Schema = {
  name: 'catalog',
  version: 3,
  tables: ['images', 'blobs', 'files', 'trees', 'image_problems'],
  // Version 1 kept a scan_state table that nothing read.
  retired: ['scan_state'],
  ddl: `
    CREATE TABLE IF NOT EXISTS images (
      store       TEXT NOT NULL,
      repository  TEXT NOT NULL,
      tag         TEXT NOT NULL,
      digest      TEXT NOT NULL,
      media_type  TEXT NOT NULL,
      platforms   TEXT NOT NULL DEFAULT '[]',
      size        INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (store, repository, tag)
    );
    CREATE INDEX IF NOT EXISTS images_repository ON images (repository);
    CREATE TABLE IF NOT EXISTS blobs (
      store   TEXT NOT NULL,
      digest  TEXT NOT NULL,
      size    INTEGER NOT NULL,
      PRIMARY KEY (store, digest)
    );
    CREATE TABLE IF NOT EXISTS image_problems (
      store       TEXT NOT NULL,
      repository  TEXT NOT NULL,
      image       TEXT NOT NULL,
      platform    TEXT NOT NULL,
      digest      TEXT NOT NULL,
      kind        TEXT NOT NULL,
      part        TEXT NOT NULL,
      detail      TEXT
    );
    CREATE INDEX IF NOT EXISTS image_problems_repository ON image_problems (store, repository);
    CREATE TABLE IF NOT EXISTS files (
      root    TEXT NOT NULL,
      path    TEXT NOT NULL,
      size    INTEGER NOT NULL,
      mtime   INTEGER NOT NULL,
      sha256  TEXT,
      PRIMARY KEY (root, path)
    );
    CREATE TABLE IF NOT EXISTS trees (
      root      TEXT NOT NULL,
      path      TEXT NOT NULL,
      kind      TEXT NOT NULL,
      packages  INTEGER NOT NULL DEFAULT 0,
      ok        INTEGER NOT NULL DEFAULT 1,
      problems  TEXT NOT NULL DEFAULT '[]',
      checked   INTEGER NOT NULL,
      PRIMARY KEY (root, path)
    );
  `,
}

export const MISSES_SCHEMA: Schema = {
  name: 'misses',
  version: 1,
  tables: ['misses'],
  ddl: `
    CREATE TABLE IF NOT EXISTS misses (
      kind        TEXT NOT NULL,
      ref         TEXT NOT NULL,
      count       INTEGER NOT NULL,
      first_seen  INTEGER NOT NULL,
      last_seen   INTEGER NOT NULL,
      client      TEXT,
      user_agent  TEXT,
      detail      TEXT,
      PRIMARY KEY (kind, ref)
    );
    CREATE INDEX IF NOT EXISTS misses_last_seen ON misses (last_seen);
  `,
}

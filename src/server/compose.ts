/**
 * The pieces `serve` is put together from, shared with the one-shot
 * commands (`outpost ls`, `outpost verify`) so that none of them opens the
 * catalog or the stores its own way: configuration → layout (stores, file
 * roots, name maps) → catalog database → catalog.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Catalog, openDb, applySchema, type Db } from '../catalog/index.js'
import { CATALOG_FILE } from '../catalog/db.js'
import { CATALOG_SCHEMA } from '../catalog/schema.js'
import { verifyContent, type VerifyOptions, type VerifyProgress } from '../catalog/verify.js'
import type { ImageStore } from '../images/index.js'
import { ConfigError, type OutpostConfig } from './config.js'
import { buildLayout, type ServedLayout } from './layout.js'
import { silentLogger, type Logger } from './logger.js'

export { buildLayout, type ServedLayout }

/** The image stores as the catalog reads them. */
export const catalogStores = (layout: ServedLayout): readonly ImageStore[] => layout.stores.uncached

/** The catalog database under `data_dir` (catalog, misses, nodes), made when missing. */
export const openCatalogDb = (config: OutpostConfig): Db => {
  try {
    return openDb(config.data_dir)
  } catch (err) {
    throw new ConfigError(`data_dir: cannot open the catalog database under ${config.data_dir}: ${(err as Error).message}`)
  }
}

/** The catalog over the layout's stores and file roots. */
export const openCatalog = (layout: ServedLayout, db: Db, logger: Logger): Catalog =>
  new Catalog({ db, stores: catalogStores(layout), fileRoots: layout.filesRoots, logger, symlinks: layout.filesSymlinks })

/** The inventory of a layout, scanned now into a catalog held in memory. */
export const scanInventory = async (layout: ServedLayout) => {
  const catalog = openCatalog(layout, openDb(':memory:'), silentLogger())
  try {
    await catalog.scan()
    return catalog.inventory()
  } finally {
    catalog.close()
  }
}

/**
 * Hashes every blob and file of a layout against its name. The hashes go to
 * the catalog database of an earlier `serve` when there is one; none is made.
 */
export const verifyLayout = async (
  config: OutpostConfig,
  layout: ServedLayout,
  onProgress: VerifyProgress,
  options: VerifyOptions = {},
) => {
  const db = existsSync(join(config.data_dir, CATALOG_FILE)) ? openDb(config.data_dir) : undefined
  try {
    if (db) applySchema(db, CATALOG_SCHEMA)
    return await verifyContent(catalogStores(layout), layout.filesRoots, db, onProgress, options)
  } finally {
    db?.close()
  }
}

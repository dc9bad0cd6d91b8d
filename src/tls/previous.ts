/**
 * The CAs Outpost used before: `outpost certs rotate-ca` moves the replaced
 * files to `<data_dir>/tls/old/<stamp>/`. Node set-up tells nodes their
 * fingerprints, so bootstrap.sh takes copies of them out of the node's trust
 * stores. The folder is read again only when it changes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { tlsPaths } from './store.js'

export const previousCaReader = (dataDir: string): (() => readonly string[]) => {
  const old = tlsPaths(dataDir).old
  let cached: { mtimeMs: number; pems: string[] } | null = null
  return () => {
    let mtimeMs: number
    try {
      mtimeMs = statSync(old).mtimeMs
    } catch {
      return []
    }
    if (cached?.mtimeMs === mtimeMs) return cached.pems
    const pems: string[] = []
    try {
      for (const stamp of readdirSync(old).sort()) {
        try {
          pems.push(readFileSync(join(old, stamp, 'ca.crt'), 'utf8'))
        } catch {
          // A folder without a CA (an operator's certificate was archived): nothing to tell nodes.
        }
      }
    } catch {
      return []
    }
    cached = { mtimeMs, pems }
    return pems
  }
}

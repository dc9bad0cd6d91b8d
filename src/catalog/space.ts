/**
 * Whether a folder (data_dir) can take writes: it can be written at all
 * (not read-only, not closed to the user Outpost runs as) and it has room.
 * Readiness asks this, and the catalog asks it before catching up after a
 * failed write. The answer is cached for a second, so a flood of /readyz
 * costs one probe a second.
 */
import { constants } from 'node:fs'
import { open, rm, statfs } from 'node:fs/promises'
import { join } from 'node:path'

/** Below this many free bytes a data_dir counts as full: SQLite's next WAL page or check-in may not fit. */
export const MIN_FREE_BYTES = 1024 * 1024

export interface SpaceProblem {
  kind: 'full' | 'not-writable'
  /** `12 KiB free of 4 MiB`, `EROFS`, `EACCES`… */
  detail: string
}

const CACHE_MS = 1000
const cache = new Map<string, { at: number; answer: Promise<SpaceProblem | null> }>()

const size = (bytes: number): string =>
  bytes >= 1024 * 1024 * 1024
    ? `${(bytes / 1024 ** 3).toFixed(1)} GiB`
    : bytes >= 1024 * 1024
      ? `${(bytes / 1024 ** 2).toFixed(1)} MiB`
      : `${Math.floor(bytes / 1024)} KiB`

const probe = async (dir: string): Promise<SpaceProblem | null> => {
  try {
    const fs = await statfs(dir)
    // Root may also use the blocks a file system keeps back for it.
    const free = (process.getuid?.() === 0 ? fs.bfree : fs.bavail) * fs.bsize
    if (free < MIN_FREE_BYTES) return { kind: 'full', detail: `${size(free)} free of ${size(fs.blocks * fs.bsize)}` }
  } catch (err) {
    return { kind: 'not-writable', detail: (err as NodeJS.ErrnoException).code ?? (err as Error).message }
  }
  // A real write: access() says yes to root on a folder that is read-only by mode, and a
  // file system mounted read-only only shows on a write.
  const path = join(dir, `.outpost-probe-${process.pid}`)
  let handle
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600)
    await handle.write(Buffer.alloc(4096))
    return null
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    return code === 'ENOSPC' || code === 'EDQUOT' ? { kind: 'full', detail: code } : { kind: 'not-writable', detail: code }
  } finally {
    await handle?.close().catch(() => undefined)
    await rm(path, { force: true }).catch(() => undefined)
  }
}

/** What keeps `dir` from taking writes, or null when it can. */
export const spaceProblem = (dir: string, now = Date.now()): Promise<SpaceProblem | null> => {
  const hit = cache.get(dir)
  if (hit && now - hit.at < CACHE_MS) return hit.answer
  const answer = probe(dir)
  cache.set(dir, { at: now, answer })
  return answer
}

/** `data_dir /var/lib/outpost is full (12 KiB free of 4.0 MiB)`: for readiness and logs. */
export const spaceProblemLine = (dir: string, p: SpaceProblem): string =>
  p.kind === 'full' ? `${dir} is full (${p.detail})` : `${dir} cannot be written (${p.detail})`

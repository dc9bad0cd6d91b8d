/**
 * Which entries of the file roots can never be served, because a built-in
 * endpoint or another root owns their URL. Reported once at start-up, so an
 * operator whose bundle holds `nginx/v2/…` or `nginx/healthz` learns why
 * nodes do not get those files.
 *
 * No directory is scanned: only the few paths that a reserved path or a
 * longer root prefix could hide are looked up.
 */
import { join } from 'node:path'
import { isPresent } from './probe.js'
import { mountRoots, type FileRootSpec } from './roots.js'
import { prefixSegments, startsWithSegments } from './safe-path.js'

export interface HiddenEntry {
  /** The root's prefix and directory. */
  prefix: string
  root: string
  /** The hidden file or directory on disk; the root itself when all of it is hidden. */
  path: string
  /** The URL path it would have had. */
  url: string
  /** What answers that URL instead: a built-in path (`/v2`) or `root /PREFIX`. */
  hiddenBy: string
}

const urlOf = (segments: readonly string[]): string => '/' + segments.join('/')

export const hiddenEntries = async (specs: readonly FileRootSpec[], reserved: readonly string[]): Promise<HiddenEntry[]> => {
  const roots = mountRoots(specs)
  const out: HiddenEntry[] = []
  const hiddenBelow = async (root: (typeof roots)[number], owner: readonly string[], hiddenBy: string): Promise<void> => {
    const below = owner.slice(root.prefixSegments.length)
    const path = join(root.path, ...below)
    if (await isPresent(path)) out.push({ prefix: root.prefix, root: root.path, path, url: urlOf(owner), hiddenBy })
  }
  for (const root of roots) {
    const whole = (hiddenBy: string): void => {
      out.push({ prefix: root.prefix, root: root.path, path: root.path, url: root.prefix, hiddenBy })
    }
    let allHidden = false
    for (const r of reserved) {
      const segs = prefixSegments(r)
      if (segs.length === 0) continue
      if (startsWithSegments(root.prefixSegments, segs)) {
        whole(urlOf(segs))
        allHidden = true
        break
      }
      if (startsWithSegments(segs, root.prefixSegments)) await hiddenBelow(root, segs, urlOf(segs))
    }
    if (allHidden) continue
    for (const other of roots) {
      if (other.id === root.id) continue
      const same = other.prefixSegments.length === root.prefixSegments.length
      if (same && startsWithSegments(root.prefixSegments, other.prefixSegments)) {
        // Two roots at one prefix: the first configured answers for both.
        if (other.id < root.id) whole(`root ${other.prefix} (${other.path})`)
        continue
      }
      if (other.prefixSegments.length > root.prefixSegments.length && startsWithSegments(other.prefixSegments, root.prefixSegments)) {
        await hiddenBelow(root, other.prefixSegments, `root ${other.prefix} (${other.path})`)
      }
    }
  }
  return out
}

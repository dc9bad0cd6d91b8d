/**
 * apt trees. An archive root holds `dists/<suite>/Release` (and/or the
 * clearsigned `InRelease`), whose `SHA256:` field lists every index file
 * below `dists/<suite>/` with its size; each `…/binary-<arch>/Packages`
 * index lists packages by `Filename:` (relative to the archive root),
 * `Size:` and `SHA256:`. Formats: Debian Policy §5 (control files, deb822)
 * and https://wiki.debian.org/DebianRepository/Format.
 *
 *   ARCHIVE/dists/bookworm/{Release,InRelease,Release.gpg}
 *   ARCHIVE/dists/bookworm/main/binary-amd64/Packages{,.gz,.xz}
 *   ARCHIVE/pool/main/c/containerd/containerd_1.6.20_amd64.deb
 *
 * A flat repository (`deb http://host/dir ./`) has Release and Packages in
 * one directory, and Filename is relative to it.
 *
 * Parsing is pure: text in, data out. Signatures are not verified here; apt
 * does that on the node, with the key the operator gives it.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import {
  checksumOf,
  decompressIndex,
  digestOf,
  IndexParseError,
  joinListed,
  planPackage,
  type Checksum,
  type HashAlgorithm,
  type IndexPlan,
} from './checks.js'
import { isDir, isFile } from './probe.js'

/** One deb822 paragraph: lower-case field name → value (continuation lines joined by "\n"). */
export type Paragraph = Map<string, string>

/**
 * Splits deb822 text (Policy §5.1) into paragraphs. Continuation lines start
 * with a space or tab; paragraphs are separated by blank lines; field names
 * are case-insensitive.
 */
export const parseDeb822 = (text: string): Paragraph[] => {
  const out: Paragraph[] = []
  let current: Paragraph | null = null
  let last: string | null = null
  const lines = text.split(/\r?\n/)
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!
    if (line.trim() === '') {
      if (current) out.push(current)
      current = null
      last = null
      continue
    }
    if (line.startsWith('#') && !current) continue
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!current || last === null) throw new IndexParseError(`line ${n + 1}: continuation line outside a field`)
      const prev = current.get(last)!
      current.set(last, prev === '' ? line.trim() : `${prev}\n${line.trim()}`)
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) throw new IndexParseError(`line ${n + 1}: not a "Field: value" line`)
    current ??= new Map()
    last = line.slice(0, colon).trim().toLowerCase()
    current.set(last, line.slice(colon + 1).trim())
  }
  if (current) out.push(current)
  return out
}

/**
 * The signed text inside an OpenPGP cleartext signature (RFC 4880 §7): armor
 * headers dropped, dash-escaping undone. Text that is not clearsigned comes
 * back as it is.
 */
export const stripClearsign = (text: string): string => {
  const lines = text.split(/\r?\n/)
  if (lines[0]?.trim() !== '-----BEGIN PGP SIGNED MESSAGE-----') return text
  let i = 1
  while (i < lines.length && lines[i]!.trim() !== '') i++
  const body: string[] = []
  for (i++; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim() === '-----BEGIN PGP SIGNATURE-----') return body.join('\n') + '\n'
    body.push(line.startsWith('- ') ? line.slice(2) : line)
  }
  throw new IndexParseError('clearsigned text without a signature block')
}

export interface ReleaseEntry {
  /** Relative to the directory holding Release. */
  path: string
  size: number
  checksums: Partial<Record<HashAlgorithm, string>>
}

export interface ReleaseIndex {
  suite: string | null
  codename: string | null
  components: string[]
  architectures: string[]
  entries: ReleaseEntry[]
}

const HASH_FIELDS: Array<[string, HashAlgorithm]> = [
  ['md5sum', 'md5'],
  ['sha1', 'sha1'],
  ['sha256', 'sha256'],
  ['sha512', 'sha512'],
]

/** Release or the text of InRelease (see stripClearsign). */
export const parseRelease = (text: string): ReleaseIndex => {
  const paragraphs = parseDeb822(text)
  if (paragraphs.length === 0) throw new IndexParseError('Release: empty')
  const p = paragraphs[0]!
  const entries = new Map<string, ReleaseEntry>()
  for (const [field, algorithm] of HASH_FIELDS) {
    const value = p.get(field)
    if (!value) continue
    for (const line of value.split('\n')) {
      if (line.trim() === '') continue
      const m = /^([0-9a-fA-F]+)\s+(\d{1,15})\s+(\S.*)$/.exec(line.trim())
      if (!m) throw new IndexParseError(`Release: ${field} line "${line}" is not "<hash> <size> <path>"`)
      const path = m[3]!.trim()
      const size = Number(m[2])
      const entry = entries.get(path) ?? { path, size, checksums: {} }
      if (entry.size !== size) throw new IndexParseError(`Release: ${path} is listed with sizes ${entry.size} and ${size}`)
      entry.checksums[algorithm] = m[1]!.toLowerCase()
      entries.set(path, entry)
    }
  }
  const words = (f: string): string[] => (p.get(f) ?? '').split(/\s+/).filter(Boolean)
  return {
    suite: p.get('suite') ?? null,
    codename: p.get('codename') ?? null,
    components: words('components'),
    architectures: words('architectures'),
    entries: [...entries.values()],
  }
}

/** The checksum apt would check first: SHA256, then SHA512, SHA1, MD5. */
export const preferredChecksum = (checksums: Partial<Record<HashAlgorithm, string>>): Checksum | null => {
  for (const a of ['sha256', 'sha512', 'sha1', 'md5'] as const) {
    const c = checksumOf(a, checksums[a])
    if (c) return c
  }
  return null
}

export interface DebPackage {
  name: string
  version: string
  architecture: string
  /** Relative to the archive root. */
  filename: string
  size: number | null
  checksum: Checksum | null
}

/** A Packages index. */
export const parsePackages = (text: string): DebPackage[] =>
  parseDeb822(text).map((p, i) => {
    const name = p.get('package')
    const filename = p.get('filename')
    if (!name || !filename) throw new IndexParseError(`Packages: paragraph ${i + 1} has no Package or Filename field`)
    const size = p.get('size')
    return {
      name,
      version: p.get('version') ?? '',
      architecture: p.get('architecture') ?? '',
      filename,
      size: size !== undefined && /^\d{1,15}$/.test(size) ? Number(size) : null,
      checksum: preferredChecksum({ sha256: p.get('sha256'), sha512: p.get('sha512'), sha1: p.get('sha1'), md5: p.get('md5sum') }),
    }
  })

const PACKAGES_INDEX = /^((?:.*\/)?Packages)(\.(?:gz|xz|bz2|lzma|zst))?$/

/** Groups Release entries that are the same Packages index in several compressions. */
export const packagesIndexes = (entries: readonly ReleaseEntry[]): Map<string, ReleaseEntry[]> => {
  const groups = new Map<string, ReleaseEntry[]>()
  for (const e of entries) {
    const m = PACKAGES_INDEX.exec(e.path)
    if (!m) continue
    const list = groups.get(m[1]!) ?? []
    list.push(e)
    groups.set(m[1]!, list)
  }
  return groups
}

export interface AptLocation {
  /** Archive root: Filename fields are relative to it. */
  dir: string
  /** Directory holding Release / InRelease (dists/<suite>, or `dir` for a flat repository). */
  releaseDir: string
  /** URL paths of both, ending in `/`. */
  url: string
  releaseUrl: string
}

const readText = async (path: string): Promise<string | null> => {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return null
  }
}

const sameEntries = (a: ReleaseIndex, b: ReleaseIndex): boolean => {
  const key = (r: ReleaseIndex): string =>
    r.entries
      .map((e) => `${e.path} ${e.size} ${e.checksums.sha256 ?? ''}`)
      .sort()
      .join('\n')
  return key(a) === key(b)
}

/**
 * The component an index belongs to: the Release component its path starts
 * with (`main/binary-amd64/Packages` → `main`), or without a Components
 * field, the path before `binary-<arch>/`.
 */
const componentOf = (indexPath: string, components: readonly string[]): string | null => {
  const named = components.find((c) => indexPath.startsWith(`${c}/`))
  if (named) return named
  if (components.length) return null
  const m = /^(.+?)\/binary-[^/]+\/Packages$/.exec(indexPath)
  return m ? m[1]! : null
}

/** What may go on a sources `Components:` line. */
const SAFE_COMPONENT = /^[A-Za-z0-9._+/-]+$/

/**
 * Components as a sources entry names them. A suite path such as
 * `bookworm/updates` has its Release name `updates/main`, and sources name
 * it `main`, as apt joins the two.
 */
export const sourcesComponents = (suite: string, components: readonly string[]): string[] => {
  const last = suite.slice(suite.lastIndexOf('/') + 1)
  const out = components
    .map((c) => (suite.includes('/') && c.startsWith(`${last}/`) ? c.slice(last.length + 1) : c))
    .filter((c) => SAFE_COMPONENT.test(c))
  return [...new Set(out)]
}

/** Reads an apt tree's Release and Packages indexes and plans its checks. */
export const planApt = async (loc: AptLocation): Promise<IndexPlan> => {
  const plan: IndexPlan = { checks: [], problems: [], notes: [], packages: 0, indexFiles: 0 }
  const releaseText = await readText(join(loc.releaseDir, 'Release'))
  const inReleaseText = await readText(join(loc.releaseDir, 'InRelease'))
  let release: ReleaseIndex | null = null
  let releaseName = 'Release'
  const parse = (text: string, name: string): ReleaseIndex | null => {
    try {
      return parseRelease(name === 'InRelease' ? stripClearsign(text) : text)
    } catch (err) {
      plan.problems.push({ kind: 'invalid', file: loc.releaseUrl + name, detail: (err as Error).message })
      return null
    }
  }
  const fromRelease = releaseText !== null ? parse(releaseText, 'Release') : null
  const fromInRelease = inReleaseText !== null ? parse(inReleaseText, 'InRelease') : null
  if (fromRelease && fromInRelease && !sameEntries(fromRelease, fromInRelease)) {
    plan.problems.push({
      kind: 'invalid',
      file: loc.releaseUrl + 'InRelease',
      detail: 'lists other index files than Release does (one of them is stale)',
    })
  }
  if (fromRelease) release = fromRelease
  else if (fromInRelease) {
    release = fromInRelease
    releaseName = 'InRelease'
  }
  if ((releaseText !== null || inReleaseText !== null) && !release) return plan
  const releaseUrl = loc.releaseUrl + releaseName

  // Each Packages index, in the compressions the Release lists (or, for an
  // unsigned flat repository, the ones on disk).
  let groups: Map<string, ReleaseEntry[]>
  if (release) {
    groups = packagesIndexes(release.entries)
    if (groups.size === 0) plan.notes.push(`${releaseUrl}: lists no Packages index`)
  } else {
    const found: ReleaseEntry[] = []
    for (const name of ['Packages', 'Packages.gz', 'Packages.xz']) {
      if (await isFile(join(loc.releaseDir, name))) found.push({ path: name, size: -1, checksums: {} })
    }
    groups = packagesIndexes(found)
    plan.notes.push(`${loc.releaseUrl}: no Release file; index files cannot be checked, only the packages they list`)
  }

  const seen = new Set<string>()
  const mirrored = new Set<string>()
  for (const [base, variants] of groups) {
    const present: Array<{ entry: ReleaseEntry; path: string }> = []
    for (const v of variants) {
      const path = joinListed(loc.releaseDir, v.path)
      if (!path) {
        plan.problems.push({ kind: 'invalid', file: releaseUrl, detail: `index path "${v.path}" leaves the tree` })
        continue
      }
      if (await isFile(path)) present.push({ entry: v, path })
    }
    for (const { entry, path } of present) {
      plan.indexFiles++
      if (entry.size >= 0) {
        plan.checks.push({
          path,
          file: loc.releaseUrl + entry.path,
          role: 'index',
          size: entry.size,
          checksum: preferredChecksum(entry.checksums),
          listedIn: releaseUrl,
        })
      }
    }
    if (present.length === 0) {
      // Release files list every architecture and component of the origin;
      // a partial mirror that left out a whole binary-<arch> directory is
      // not broken. A directory that is there without its index is.
      const dir = joinListed(loc.releaseDir, dirname(base) === '.' ? '.' : dirname(base)) ?? loc.releaseDir
      const listed = variants.map((v) => v.path.slice(v.path.lastIndexOf('/') + 1)).join(', ')
      if (dirname(base) !== '.' && !(await isDir(dir))) {
        plan.notes.push(`${loc.releaseUrl}${dirname(base)}/: listed in ${releaseName} but not mirrored`)
      } else {
        const first = variants[0]!
        plan.problems.push({
          kind: 'missing',
          file: loc.releaseUrl + first.path,
          detail: `listed in ${releaseUrl} (${first.size} bytes) but not present (listed: ${listed})`,
        })
      }
      continue
    }
    const component = componentOf(base, release?.components ?? [])
    if (component) mirrored.add(component)
    // Read the plain index if it is there, else the .gz; apt checks the
    // uncompressed bytes against the plain entry too, so do that here.
    const plainEntry = variants.find((v) => v.path === base)
    const readable = present.find((p) => p.entry.path === base) ?? present.find((p) => p.entry.path.endsWith('.gz'))
    if (!readable) {
      plan.notes.push(
        `${loc.releaseUrl}${present[0]!.entry.path}: compression not readable by Node 20 (only plain and .gz are); packages not checked`,
      )
      continue
    }
    const indexUrl = loc.releaseUrl + readable.entry.path
    let text: Buffer
    try {
      const data = decompressIndex(readable.entry.path, await readFile(readable.path))
      if (!data) continue
      text = data
    } catch (err) {
      plan.problems.push({ kind: 'invalid', file: indexUrl, detail: `cannot read: ${(err as Error).message}` })
      continue
    }
    if (readable.entry.path !== base && plainEntry && plainEntry.size >= 0) {
      const want = preferredChecksum(plainEntry.checksums)
      if (text.length !== plainEntry.size) {
        plan.problems.push({
          kind: 'size',
          file: indexUrl,
          detail: `decompresses to ${text.length} bytes, ${releaseName} lists ${plainEntry.size} for ${plainEntry.path}`,
        })
      } else if (want && digestOf(want.algorithm, text) !== want.value) {
        plan.problems.push({
          kind: 'checksum',
          file: indexUrl,
          detail: `decompressed ${want.algorithm} does not match ${plainEntry.path} in ${releaseName}`,
        })
      }
    }
    let packages: DebPackage[]
    try {
      packages = parsePackages(text.toString('utf8'))
    } catch (err) {
      plan.problems.push({ kind: 'invalid', file: indexUrl, detail: (err as Error).message })
      continue
    }
    for (const p of packages) {
      const file = loc.url + p.filename.replace(/^(\.\/)+/, '')
      planPackage(plan, seen, loc.dir, p.filename, {
        name: p.name,
        field: 'Filename',
        file,
        size: p.size,
        checksum: p.checksum,
        listedIn: indexUrl,
      })
    }
  }
  if (release) plan.components = release.components.length ? release.components.filter((c) => mirrored.has(c)) : [...mirrored]
  return plan
}

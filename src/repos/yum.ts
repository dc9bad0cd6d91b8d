/**
 * yum/dnf trees: `repodata/repomd.xml` lists the metadata files (each with
 * its checksum and size, createrepo's `<data type=…>` entries); the
 * `primary` one lists every package (`<location href>`, `<size package>`,
 * `<checksum>`). See createrepo_c's repomd.c and the rpm-metadata spec
 * (https://github.com/rpm-software-management/createrepo_c/blob/master/src/repomd.c).
 *
 *   TREE/repodata/repomd.xml
 *   TREE/repodata/<sha256>-primary.xml.gz     (or .xml, .zst, .xz, .bz2)
 *   TREE/repodata/<sha256>-filelists.xml.gz …
 *   TREE/Packages/…/name-ver-rel.arch.rpm     (wherever primary says)
 *
 * Parsing is pure: text in, data out.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { XMLParser } from 'fast-xml-parser'
import { checksumOf, decompressIndex, digestOf, IndexParseError, joinListed, planPackage, type Checksum, type IndexPlan } from './checks.js'

export interface RepomdEntry {
  /** `primary`, `filelists`, `other`, `primary_db`, `group`, `modules`, `updateinfo`, … */
  type: string
  /** Relative to the tree (`repodata/…`). */
  href: string
  /** `xml:base` of the location: the file lives elsewhere (a URL). */
  base: string | null
  checksum: Checksum | null
  openChecksum: Checksum | null
  size: number | null
  openSize: number | null
}

export interface PrimaryPackage {
  name: string
  arch: string
  epoch: string
  version: string
  release: string
  href: string
  base: string | null
  size: number | null
  checksum: Checksum | null
}

type Node = Record<string, unknown>

const parser = (arrays: ReadonlySet<string>, stopNodes: string[] = []): XMLParser =>
  new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    // Checksums are hex strings: "1e50…" must not become a number.
    parseTagValue: false,
    parseAttributeValue: false,
    isArray: (_name, jpath) => arrays.has(String(jpath)),
    stopNodes,
  })

const REPOMD = parser(new Set(['repomd.data']))
// <format> (provides, requires, files) is most of primary.xml and not needed here.
const PRIMARY = parser(new Set(['metadata.package']), [
  'metadata.package.format',
  'metadata.package.description',
  'metadata.package.summary',
  'metadata.package.changelog',
])

const str = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v.trim()
  if (v && typeof v === 'object' && typeof (v as Node)['#text'] === 'string') return ((v as Node)['#text'] as string).trim()
  return undefined
}

const attr = (node: unknown, name: string): string | undefined => {
  if (!node || typeof node !== 'object') return undefined
  const v = (node as Node)[`@_${name}`]
  return typeof v === 'string' ? v : undefined
}

const num = (v: string | undefined): number | null => (v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : null)

const checksumNode = (node: unknown): Checksum | null => checksumOf(attr(node, 'type'), str(node))

const parseXml = (xml: string | Buffer, p: XMLParser, what: string): Node => {
  try {
    return p.parse(xml) as Node
  } catch (err) {
    throw new IndexParseError(`${what}: not well-formed XML: ${(err as Error).message}`)
  }
}

export const parseRepomd = (xml: string | Buffer): RepomdEntry[] => {
  const doc = parseXml(xml, REPOMD, 'repomd.xml')
  const repomd = doc.repomd === '' ? {} : (doc.repomd as Node | undefined)
  if (!repomd || typeof repomd !== 'object') throw new IndexParseError('repomd.xml: no <repomd> element')
  const data = (repomd.data as unknown[] | undefined) ?? []
  return data.map((d, i) => {
    const node = d as Node
    const href = attr(node.location, 'href')
    const type = attr(node, 'type')
    if (!href || !type) throw new IndexParseError(`repomd.xml: <data> ${i + 1} has no type or location href`)
    return {
      type,
      href,
      base: attr(node.location, 'base') || null,
      checksum: checksumNode(node.checksum),
      openChecksum: checksumNode(node['open-checksum']),
      size: num(str(node.size)),
      openSize: num(str(node['open-size'])),
    }
  })
}

export const parsePrimary = (xml: string | Buffer): PrimaryPackage[] => {
  const doc = parseXml(xml, PRIMARY, 'primary.xml')
  const metadata = doc.metadata === '' ? {} : (doc.metadata as Node | undefined)
  if (!metadata || typeof metadata !== 'object') throw new IndexParseError('primary.xml: no <metadata> element')
  const packages = (metadata.package as unknown[] | undefined) ?? []
  return packages.map((p, i) => {
    const node = p as Node
    const href = attr(node.location, 'href')
    const name = str(node.name)
    if (!href || !name) throw new IndexParseError(`primary.xml: <package> ${i + 1} has no name or location href`)
    return {
      name,
      arch: str(node.arch) ?? '',
      epoch: attr(node.version, 'epoch') ?? '0',
      version: attr(node.version, 'ver') ?? '',
      release: attr(node.version, 'rel') ?? '',
      href,
      base: attr(node.location, 'base') || null,
      size: num(attr(node.size, 'package')),
      checksum: checksumNode(node.checksum),
    }
  })
}

/**
 * Reads a yum tree's metadata and plans its checks. `url` is the tree's URL
 * path (ending in `/`).
 */
export const planYum = async (dir: string, url: string): Promise<IndexPlan> => {
  const plan: IndexPlan = { checks: [], problems: [], notes: [], packages: 0, indexFiles: 0 }
  const repomdUrl = `${url}repodata/repomd.xml`
  let entries: RepomdEntry[]
  try {
    entries = parseRepomd(await readFile(join(dir, 'repodata', 'repomd.xml')))
  } catch (err) {
    plan.problems.push({ kind: err instanceof IndexParseError ? 'invalid' : 'unreadable', file: repomdUrl, detail: (err as Error).message })
    return plan
  }
  for (const e of entries) {
    if (e.base) {
      plan.notes.push(`${e.href}: located at ${e.base}, not checked`)
      continue
    }
    const path = joinListed(dir, e.href)
    if (!path) {
      plan.problems.push({ kind: 'invalid', file: repomdUrl, detail: `location "${e.href}" leaves the tree` })
      continue
    }
    plan.indexFiles++
    plan.checks.push({ path, file: url + e.href, role: 'index', size: e.size, checksum: e.checksum, listedIn: repomdUrl })
  }
  const primary = entries.find((e) => e.type === 'primary' && !e.base)
  if (!primary) {
    plan.problems.push({ kind: 'invalid', file: repomdUrl, detail: 'lists no primary metadata' })
    return plan
  }
  const primaryUrl = url + primary.href
  const primaryPath = joinListed(dir, primary.href)
  if (!primaryPath) return plan
  let raw: Buffer
  try {
    raw = await readFile(primaryPath)
  } catch {
    // Reported by its FileCheck (missing / unreadable).
    return plan
  }
  let xml: Buffer | null
  try {
    xml = decompressIndex(primary.href, raw)
  } catch (err) {
    plan.problems.push({ kind: 'invalid', file: primaryUrl, detail: `cannot decompress: ${(err as Error).message}` })
    return plan
  }
  if (!xml) {
    plan.notes.push(`${primaryUrl}: compression not readable by Node 20 (only plain and .gz are); packages not checked`)
    return plan
  }
  if (primary.openChecksum) {
    const actual = digestOf(primary.openChecksum.algorithm, xml)
    if (actual !== primary.openChecksum.value) {
      plan.problems.push({
        kind: 'checksum',
        file: primaryUrl,
        detail: `decompressed ${primary.openChecksum.algorithm} ${actual}, repomd.xml lists ${primary.openChecksum.value}`,
      })
    }
  }
  let packages: PrimaryPackage[]
  try {
    packages = parsePrimary(xml)
  } catch (err) {
    plan.problems.push({ kind: 'invalid', file: primaryUrl, detail: (err as Error).message })
    return plan
  }
  const seen = new Set<string>()
  for (const p of packages) {
    if (p.base) {
      plan.notes.push(`${p.href}: located at ${p.base}, not checked`)
      continue
    }
    planPackage(plan, seen, dir, p.href, {
      name: p.name,
      field: 'location',
      file: url + p.href,
      size: p.size,
      checksum: p.checksum,
      listedIn: primaryUrl,
    })
  }
  return plan
}

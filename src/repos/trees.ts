/**
 * Package trees under the file roots: where they are, and whether they are
 * whole.
 *
 * Detection walks each root (not following symlinked directories, skipping
 * dot-directories, to a bounded depth) and stops descending where it finds a
 * tree, so a pool of ten thousand packages is never listed:
 *
 * - yum: a directory holding `repodata/repomd.xml`;
 * - apt: a directory holding `dists/`, with one tree per
 *   `dists/<suite>/{Release,InRelease}` (suites may nest: `stable/updates`);
 * - flat apt: a directory holding `Packages`, `Packages.gz` or `Packages.xz`
 *   (with or without a Release) outside any `dists/`.
 *
 * Each tree's signing key, when it publishes one, is found beside it
 * (keys.ts), and whether it is signed is read off the tree (signatures.ts);
 * an apt suite's components are those its Release names whose indexes are
 * mirrored (apt.ts). Node set-up writes all of it into the sources it hands
 * out.
 *
 * Checking plans each tree from its indexes (yum.ts, apt.ts) and runs the
 * file checks (checks.ts). `PackageTrees` keeps the latest reports for the
 * server (inventory, readiness) and `outpost verify --repos`.
 */
import { readdir, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import { planApt, sourcesComponents } from './apt.js'
import { runFileChecks, type CheckContext, type FileCheck, type IndexPlan, type TreeProblem } from './checks.js'
import { findSigningKey } from './keys.js'
import { aptReleaseSigned, yumMetadataSigned, yumPackagesSigned } from './signatures.js'
import { isDir, isFile } from './probe.js'
import { mountRoots, type FileRootSpec, type SymlinkPolicy } from './roots.js'
import { encodeSegment } from './safe-path.js'
import { planYum } from './yum.js'

export type TreeKind = 'yum' | 'apt'

export interface PackageTree {
  kind: TreeKind
  /** The file root it was found in. */
  rootPrefix: string
  rootPath: string
  /** yum: the directory holding repodata/; apt: the archive root. */
  dir: string
  /** URL path of `dir`, ending in `/` (what goes in baseurl= or a sources.list line). */
  url: string
  /** apt: the suite path under dists/ (`bookworm`, `stable/updates`); null for flat repositories and yum. */
  suite: string | null
  /** apt: the directory holding Release / InRelease / Packages. */
  releaseDir: string | null
  /** URL path of the signing key the tree publishes (keys.ts), or null. */
  signingKey: string | null
  /** apt: the Release is signed (InRelease or Release.gpg); yum: repodata/repomd.xml.asc is there. */
  signed: boolean
}

export interface TreeReport {
  kind: TreeKind
  url: string
  dir: string
  suite: string | null
  /** apt suites: the components to name in a sources entry (mirrored ones only); empty otherwise. */
  components: string[]
  /** URL path of the tree's signing key, or null. */
  signingKey: string | null
  /** apt: the Release is signed; yum: repomd.xml is (repomd.xml.asc). */
  signed: boolean
  /** yum: every package looked at carries an RPM signature (false: one does not; null: none could be read). apt: null. */
  packagesSigned: boolean | null
  /** Packages the indexes name (each file once). */
  packages: number
  /** Index files checked (repodata files; Packages files). */
  indexFiles: number
  /** Bytes of the package files found. */
  packageBytes: number
  /** Package checksums were verified too, not only sizes. */
  full: boolean
  ok: boolean
  problems: TreeProblem[]
  /** What was not checked, and why. */
  notes: string[]
  checkedAt: string
  durationMs: number
}

export interface DetectOptions {
  /** Deepest directory level looked at below a root (default 8). */
  maxDepth?: number
  /** Most directories read per root (default 20,000). */
  maxDirs?: number
  signal?: AbortSignal | undefined
}

const urlOf = (prefix: string, segments: readonly string[]): string => {
  const base = prefix === '/' ? '' : prefix
  return `${base}/${segments.map(encodeSegment).join('/')}${segments.length ? '/' : ''}`
}

/** Release directories under `dists/`, as suite paths. */
const findSuites = async (dists: string, depth = 3): Promise<string[]> => {
  const out: string[] = []
  const walk = async (dir: string, rel: string[], level: number): Promise<void> => {
    if (rel.length && ((await isFile(join(dir, 'Release'))) || (await isFile(join(dir, 'InRelease'))))) {
      out.push(rel.join('/'))
      return
    }
    if (level >= depth) return
    let names: import('node:fs').Dirent[]
    try {
      names = await readdir(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const d of names) if (d.isDirectory() && !d.name.startsWith('.')) await walk(join(dir, d.name), [...rel, d.name], level + 1)
  }
  await walk(dists, [], 0)
  return out.sort()
}

/** Finds the package trees under the roots, in root order, then path order. */
export const detectTrees = async (roots: readonly FileRootSpec[], options: DetectOptions = {}): Promise<PackageTree[]> => {
  const maxDepth = options.maxDepth ?? 8
  const maxDirs = options.maxDirs ?? 20_000
  const trees: PackageTree[] = []
  for (const root of mountRoots(roots).sort((a, b) => a.id - b.id)) {
    const found: PackageTree[] = []
    let visited = 0
    const queue: Array<{ dir: string; rel: string[] }> = [{ dir: root.path, rel: [] }]
    while (queue.length) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted')
      const { dir, rel } = queue.shift()!
      if (++visited > maxDirs) break
      let entries: import('node:fs').Dirent[]
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch {
        continue
      }
      const names = new Set(entries.map((e) => e.name))
      const url = urlOf(root.prefix, rel)
      const base = { rootPrefix: root.prefix, rootPath: root.path, dir, url }
      const files = entries.filter((e) => e.isFile()).map((e) => e.name)
      const signingKey = async (kind: TreeKind): Promise<string | null> => {
        const key = await findSigningKey(kind, dir, files)
        return key === null ? null : url + key.split('/').map(encodeSegment).join('/')
      }
      if (names.has('repodata') && (await isFile(join(dir, 'repodata', 'repomd.xml')))) {
        found.push({
          ...base,
          kind: 'yum',
          suite: null,
          releaseDir: null,
          signingKey: await signingKey('yum'),
          signed: await yumMetadataSigned(dir),
        })
        continue
      }
      if (names.has('dists') && (await isDir(join(dir, 'dists')))) {
        const suites = await findSuites(join(dir, 'dists'))
        const key = suites.length ? await signingKey('apt') : null
        for (const suite of suites) {
          const releaseDir = join(dir, 'dists', ...suite.split('/'))
          found.push({ ...base, kind: 'apt', suite, releaseDir, signingKey: key, signed: await aptReleaseSigned(releaseDir) })
        }
        if (suites.length) continue
      }
      // A flat repository has a Packages index beside (or without) its Release.
      const flatIndex = ['Packages', 'Packages.gz', 'Packages.xz'].some((n) => files.includes(n))
      if (flatIndex && !rel.includes('dists')) {
        found.push({
          ...base,
          kind: 'apt',
          suite: null,
          releaseDir: dir,
          signingKey: await signingKey('apt'),
          signed: await aptReleaseSigned(dir),
        })
        continue
      }
      if (rel.length >= maxDepth) continue
      for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (e.isDirectory() && !e.name.startsWith('.')) queue.push({ dir: join(dir, e.name), rel: [...rel, e.name] })
      }
    }
    const key = (t: PackageTree): string => `${t.url}\u0000${t.suite ?? ''}`
    trees.push(...found.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)))
  }
  return trees
}

/** Progress of a check run: `done` of `total` file checks, over every tree. */
export interface CheckProgress {
  phase: 'detect' | 'plan' | 'check'
  done: number
  total: number
  tree?: PackageTree
}

export interface CheckTreesOptions {
  symlinks?: SymlinkPolicy
  /** Verify package checksums, not only sizes. */
  full?: boolean
  onProgress?: (p: CheckProgress) => void
  signal?: AbortSignal | undefined
  detect?: DetectOptions
}

const planTree = (tree: PackageTree): Promise<IndexPlan> =>
  tree.kind === 'yum'
    ? planYum(tree.dir, tree.url)
    : planApt({
        dir: tree.dir,
        releaseDir: tree.releaseDir ?? tree.dir,
        url: tree.url,
        releaseUrl: tree.suite ? `${tree.url}dists/${tree.suite.split('/').map(encodeSegment).join('/')}/` : tree.url,
      })

/** Detects and checks every package tree under the roots. */
export const checkTrees = async (roots: readonly FileRootSpec[], options: CheckTreesOptions = {}): Promise<TreeReport[]> => {
  const { onProgress, signal } = options
  const full = options.full ?? false
  onProgress?.({ phase: 'detect', done: 0, total: 0 })
  const trees = await detectTrees(roots, { ...options.detect, signal })
  const plans: Array<{ tree: PackageTree; plan: IndexPlan; started: number }> = []
  for (const tree of trees) {
    onProgress?.({ phase: 'plan', done: plans.length, total: trees.length, tree })
    plans.push({ tree, plan: await planTree(tree), started: performance.now() })
  }
  const total = plans.reduce((n, p) => n + p.plan.checks.length, 0)
  let done = 0
  const reports: TreeReport[] = []
  const realRoots = new Map<string, string>()
  for (const { tree, plan, started } of plans) {
    let rootReal = realRoots.get(tree.rootPath)
    if (!rootReal) realRoots.set(tree.rootPath, (rootReal = await realpath(tree.rootPath)))
    const ctx: CheckContext = { rootPath: tree.rootPath, rootReal, symlinks: options.symlinks ?? 'inside', full, signal }
    onProgress?.({ phase: 'check', done, total, tree })
    const outcomes = await runFileChecks(plan.checks, ctx, () => onProgress?.({ phase: 'check', done: ++done, total, tree }))
    const problems = [...plan.problems]
    let packageBytes = 0
    // Packages found whole inside the root: the ones whose signatures may be read.
    const present: string[] = []
    outcomes.forEach((o, i) => {
      if (o.problem) problems.push(o.problem)
      const check = plan.checks[i] as FileCheck
      if (check.role === 'package') packageBytes += o.bytes
      if (check.role === 'package' && !o.problem) present.push(check.path)
    })
    reports.push({
      kind: tree.kind,
      url: tree.url,
      dir: tree.dir,
      suite: tree.suite,
      components: tree.suite ? sourcesComponents(tree.suite, plan.components ?? []) : [],
      signingKey: tree.signingKey,
      signed: tree.signed,
      packagesSigned: tree.kind === 'yum' ? await yumPackagesSigned(present) : null,
      packages: plan.packages,
      indexFiles: plan.indexFiles,
      packageBytes,
      full,
      ok: problems.length === 0,
      problems,
      notes: plan.notes,
      checkedAt: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
    })
  }
  return reports
}

export type PackageTreesState = 'idle' | 'checking' | 'done' | 'failed'

export interface PackageTreesOptions {
  roots: readonly FileRootSpec[]
  symlinks: SymlinkPolicy
  detect?: DetectOptions
}

/**
 * The package trees of a running server and their latest check. One check
 * runs at a time; `close` abandons a running one.
 */
export class PackageTrees {
  readonly roots: readonly FileRootSpec[]
  readonly symlinks: SymlinkPolicy
  #reports: TreeReport[] | null = null
  #state: PackageTreesState = 'idle'
  #error: Error | null = null
  #running: Promise<TreeReport[]> | null = null
  #abort = new AbortController()
  readonly #detect: DetectOptions | undefined

  constructor(options: PackageTreesOptions) {
    this.roots = options.roots
    this.symlinks = options.symlinks
    this.#detect = options.detect
  }

  get state(): PackageTreesState {
    return this.#state
  }

  /** The latest completed reports, or null before the first check ends. */
  get reports(): readonly TreeReport[] | null {
    return this.#reports
  }

  /** Why the last check could not run (an unreadable root), if it could not. */
  get error(): Error | null {
    return this.#error
  }

  /** Runs a check (or joins the one running) and keeps its reports. */
  check(options: Omit<CheckTreesOptions, 'symlinks' | 'signal' | 'detect'> = {}): Promise<TreeReport[]> {
    if (this.#running) return this.#running
    this.#state = 'checking'
    this.#running = checkTrees(this.roots, { ...options, symlinks: this.symlinks, signal: this.#abort.signal, detect: this.#detect ?? {} })
      .then(
        (reports) => {
          this.#reports = reports
          this.#state = 'done'
          this.#error = null
          return reports
        },
        (err: Error) => {
          this.#state = 'failed'
          this.#error = err
          throw err
        },
      )
      .finally(() => {
        this.#running = null
      })
    return this.#running
  }

  get closed(): boolean {
    return this.#abort.signal.aborted
  }

  close(): void {
    this.#abort.abort(new Error('package tree check stopped'))
  }
}

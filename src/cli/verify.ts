/**
 * `outpost verify [--repos]`: hash every blob and file against its name and
 * follow every tag whole, or check the yum and apt trees. With
 * `--write-manifest FILE` it records what it hashed; with `--manifest FILE`
 * it compares what it hashed with such a record.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import cliProgress from 'cli-progress'
import { RootsError, buildLayout, checkRoots, rootProblemLine, verifyLayout } from '../server/index.js'
import { checkTrees, formatReports, type CheckProgress } from '../repos/index.js'
import { humanBytes } from '../nodes/text.js'
import { formatImageProblem, isBreaking } from '../images/index.js'
import type { VerifyReport } from '../catalog/verify.js'
import {
  ManifestError,
  compareManifest,
  diffLines,
  parseManifestText,
  renderManifest,
  uniqueItems,
  type HashedItem,
} from '../bundle/manifest.js'
import { VERSION } from '../server/version.js'
import { LAYOUT_KEYS, addConfigOptions, type ConfigFlags } from './options.js'
import { EXIT_PROBLEMS, UsageError, commandConfig, fail } from './run.js'

interface VerifyFlags extends ConfigFlags {
  repos?: boolean
  full?: boolean
  json?: boolean
  writeManifest?: string
  manifest?: string
}

/** The manifest to compare with, read before anything is hashed (exit 2 when it cannot be read). */
const readManifest = (file: string): HashedItem[] => {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new UsageError(`--manifest: ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  try {
    return parseManifestText(text, file)
  } catch (err) {
    if (err instanceof ManifestError) throw new UsageError(`--manifest: ${err.message}`)
    throw err
  }
}

const writeManifest = (file: string, items: readonly HashedItem[]): string => {
  const tmp = `${file}.tmp-${process.pid}`
  writeFileSync(tmp, renderManifest(items, `outpost ${VERSION}`))
  renameSync(tmp, file)
  const all = uniqueItems(items)
  const count = (k: HashedItem['kind']): number => all.filter((e) => e.kind === k).length
  return `wrote ${file}: ${count('blob')} blobs, ${count('file')} files, ${count('tag')} tags`
}

/** A progress bar on a terminal; nothing otherwise. */
const progressBar = (label: string) => {
  if (!process.stderr.isTTY) return { update: (_done: number, _total: number) => {}, stop: () => {} }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {done} of {all}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  )
  let started = false
  return {
    update: (done: number, total: number) => {
      if (!started) {
        bar.start(Math.max(total, 1), 0, { done: humanBytes(0), all: humanBytes(total) })
        started = true
      }
      bar.update(done, { done: humanBytes(done), all: humanBytes(total) })
    },
    stop: () => started && bar.stop(),
  }
}

/** A progress bar on stderr while trees are checked, only when stderr is a terminal. */
const treeProgressBar = (): { update: (p: CheckProgress) => void; stop: () => void } => {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'checking {bar} {value}/{total} files | {tree}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    undefined,
  )
  let started = false
  return {
    update: (p) => {
      if (p.phase !== 'check') return
      const tree = p.tree ? `${p.tree.kind} ${p.tree.url}${p.tree.suite ? ` ${p.tree.suite}` : ''}` : ''
      if (!started) {
        bar.start(p.total, p.done, { tree })
        started = true
      } else bar.update(p.done, { tree })
    },
    stop: () => {
      if (started) bar.stop()
    },
  }
}

/**
 * The lines of a verify report and its count of problems. A corrupt blob is
 * one problem however many images need it (each image is named on its own
 * line); a foreign layer that is not held is said, not counted.
 */
export const verifyLines = (report: VerifyReport, missingRoots = 0): { lines: string[]; problems: number; summary: string } => {
  const lines = report.problems.map((p) => `${p.kind.toUpperCase()} ${p.path}: ${p.problem}`)
  const known = new Set(report.problems.flatMap((p) => (p.digest ? [p.digest] : [])))
  lines.push(...report.imageProblems.map((p) => `IMAGE ${formatImageProblem(p)}`))
  const breaking = report.imageProblems.filter(isBreaking)
  const problems = report.problems.length + missingRoots + breaking.filter((p) => !known.has(p.digest)).length
  const broken = new Set(breaking.map((p) => p.image)).size
  const foreign = report.imageProblems.length - breaking.length
  const notes = [
    ...(broken ? [`${broken} broken image(s)`] : []),
    ...(foreign ? [`${foreign} foreign layer(s) not held (clients fetch them from their URLs)`] : []),
  ]
  const summary =
    `verified ${report.blobs} blobs and ${report.files} files (${humanBytes(report.bytes)}) and followed ${report.images} tags whole: ` +
    `${problems ? `${problems} problem(s)` : 'all good'}${notes.length ? `; ${notes.join(', ')}` : ''}`
  return { lines, problems, summary }
}

const verify = async (flags: VerifyFlags): Promise<void> => {
  try {
    const config = commandConfig(flags)
    // A root that is not there is not "all good": stop (exit 2), or with allow_missing_roots count it as a problem.
    const missing = checkRoots(config)
    if (missing.length && !config.allow_missing_roots) throw new RootsError(missing)
    for (const m of missing) process.stdout.write(`MISSING ${rootProblemLine(m)}\n`)
    const layout = buildLayout(config)
    if (flags.repos) {
      const bar = treeProgressBar()
      const full = flags.full ?? false
      let reports
      try {
        reports = await checkTrees(layout.filesRoots, { symlinks: layout.filesSymlinks, full, onProgress: bar.update })
      } finally {
        bar.stop()
      }
      if (flags.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n')
      else process.stdout.write(formatReports(reports, { full, roots: layout.filesRoots.map((r) => r.path) }))
      process.exit(reports.some((r) => !r.ok) || missing.length > 0 ? EXIT_PROBLEMS : 0)
    }
    const expected = flags.manifest ? readManifest(flags.manifest) : null
    const collect = expected !== null || flags.writeManifest !== undefined
    const bar = progressBar('verify')
    const report = await verifyLayout(config, layout, (done, total) => bar.update(done, total), { collect })
    bar.stop()
    const { lines, problems, summary } = verifyLines(report, missing.length)
    const diff = expected ? compareManifest(expected, report.hashed ?? []) : null
    const differences = diff ? diff.missing.length + diff.different.length : 0
    const written = flags.writeManifest ? writeManifest(flags.writeManifest, report.hashed ?? []) : null
    if (flags.json) {
      const { problems: content, imageProblems, hashed: _hashed, ...counts } = report
      const against = diff && { file: flags.manifest, same: diff.same, missing: diff.missing, different: diff.different, extra: diff.extra }
      process.stdout.write(
        `${JSON.stringify({ ok: problems + differences === 0, ...counts, content, problems: imageProblems, ...(against ? { manifest: against } : {}) }, null, 2)}\n`,
      )
    } else {
      const out = [...lines]
      if (diff) out.push(...diffLines(diff))
      out.push(summary)
      if (diff)
        out.push(
          `against ${flags.manifest}: ${diff.same} as recorded, ${diff.missing.length} missing, ${diff.different.length} different, ${diff.extra.length} extra`,
        )
      if (written) out.push(written)
      process.stdout.write(out.map((l) => `${l}\n`).join(''))
    }
    process.exit(problems + differences ? EXIT_PROBLEMS : 0)
  } catch (err) {
    fail(err)
  }
}

export const addVerify = (program: Command): void => {
  addConfigOptions(
    program
      .command('verify')
      .description(
        'hash every blob and file and check it against its name, follow every tag through its index, manifests, configs and layers (--repos: check the yum and apt trees instead); exit 1 naming every corrupt or missing item',
      ),
    // The catalog of an earlier `serve` under data_dir gets the hashes.
    [...LAYOUT_KEYS, 'data_dir'],
  )
    .option('--repos', 'check the yum and apt trees under the file roots: every index and package present with its size and checksum')
    .option('--full', 'with --repos: verify every package checksum, not only sizes (reads every package)')
    .option('--json', 'print the report as JSON on stdout (image problems as problems: [{image, platform, digest, kind}])')
    .option(
      '--write-manifest <file>',
      'record every blob digest, file path, size and sha256 and every tag in FILE, to carry beside the bundle',
    )
    .option(
      '--manifest <file>',
      'compare with a manifest written by --write-manifest: what is missing, extra or different; exit 1 unless nothing is missing or different',
    )
    .action(verify)
}

/**
 * `outpost import PATH… [--name REPO] [--tag TAG] [--dry-run]`: loads images
 * from `docker save` archives, oci-archive tarballs, OCI image layouts and
 * skopeo `dir:` copies into the push root (`registry.push_root`), offline.
 * Prints `NAME:TAG DIGEST` per image on stdout; a progress bar on stderr when
 * it is a terminal. A bad source: one line naming the file and entry, exit 1.
 * Safe beside a running `serve` (both write the tree by durable renames).
 */
import type { Command } from 'commander'
import cliProgress from 'cli-progress'
import { ImportError, WriterSink, importPaths, type ImportProgress } from '../images/import/index.js'
import { ImageWriteError } from '../images/index.js'
import { humanBytes } from '../nodes/text.js'
import { buildLayout } from '../server/index.js'
import { addConfigOptions, type ConfigFlags } from './options.js'
import { commandConfig, fail } from './run.js'

/**
 * The flags of what import reads: `registry.push_root` (no flag of its own)
 * defaults to `<data_dir>/registry`; the rest of the configuration comes
 * from the file and the environment, as for `serve`.
 */
const IMPORT_KEYS = ['data_dir']

interface ImportFlags extends ConfigFlags {
  name?: string
  tag?: string
  dryRun?: boolean
}

/**
 * A progress bar on stderr when it is a terminal (nothing otherwise). A line
 * for stdout takes the bar away first (it comes back with the next
 * progress), so the two never overwrite each other on one terminal.
 */
const importBar = () => {
  if (!process.stderr.isTTY)
    return { update: (_p: ImportProgress) => {}, line: (text: string) => void process.stdout.write(text), stop: () => {} }
  const bar = new cliProgress.SingleBar(
    { format: 'import [{bar}] {percentage}% | {done} of {all} | {source}', stream: process.stderr, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  )
  let shown = false
  const stop = (): void => {
    if (shown) bar.stop()
    shown = false
  }
  return {
    update: (p: ImportProgress) => {
      const payload = { done: humanBytes(p.done), all: humanBytes(p.total), source: p.path }
      if (!shown) {
        bar.start(Math.max(p.total, 1), p.done, payload)
        shown = true
      } else bar.update(p.done, payload)
    },
    line: (text: string) => {
      stop()
      process.stdout.write(text)
    },
    stop,
  }
}

/** The push root cannot be made or written. */
class PushRootError extends Error {}

/** One line for what stopped the import, or undefined for a fault of Outpost's own (then the stack is printed). */
const reasonOf = (err: unknown): string | undefined => {
  if (err instanceof ImportError || err instanceof ImageWriteError || err instanceof PushRootError) return err.message
  const e = err as NodeJS.ErrnoException
  if (typeof e?.code === 'string' && typeof e.message === 'string') return e.message
  return undefined
}

const runImport = async (paths: string[], flags: ImportFlags): Promise<void> => {
  let bar: ReturnType<typeof importBar> | undefined
  try {
    const config = commandConfig(flags)
    // The layout's push root: the one `serve` writes, refused when it is also a read-only root.
    const store = buildLayout(config).stores.push!.store
    // The folders of a new push root are made before the first write only: a run that writes nothing leaves no trace.
    const prepare = () =>
      store.init().catch((err: NodeJS.ErrnoException) => {
        throw new PushRootError(`registry.push_root: cannot write ${config.registry.push_root}: ${err.code ?? err.message}`)
      })
    bar = importBar()
    const images = importPaths(paths, new WriterSink(store, { prepare }), {
      name: flags.name,
      tag: flags.tag,
      dryRun: flags.dryRun,
      onProgress: bar.update,
    })
    for await (const image of images) bar.line(`${image.line}\n`)
    bar.stop()
  } catch (err) {
    bar?.stop()
    const reason = reasonOf(err)
    if (reason === undefined) fail(err)
    process.stderr.write(`outpost import: ${reason!.replace(/\s*\n\s*/g, ' ')}\n`)
    process.exit(1)
  }
}

export const addImport = (program: Command): void => {
  addConfigOptions(
    program
      .command('import')
      .summary('load image archives and folders into the push root')
      .description(
        'load images into the push root (registry.push_root, default <data_dir>/registry) from docker save archives, ' +
          'oci-archive tarballs, OCI layouts and skopeo dir: copies; prints NAME:TAG DIGEST per image',
      )
      .argument('<paths...>', 'archives (.tar) and folders to import'),
    IMPORT_KEYS,
  )
    .option('--name <repo>', 'repository for the images (required when a source carries no name), e.g. library/busybox')
    .option('--tag <tag>', 'tag for the image (a single-image source only; required when it carries no tag)')
    .option('--dry-run', 'read and check everything, print the same lines, write nothing')
    .action(runImport)
}

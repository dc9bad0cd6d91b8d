/**
 * Watches every folder of a tree with one `fs.watch` each (one inotify
 * watch per folder, none per file) and reports the names that changed.
 * Used for file roots, which hold far more files than folders: chokidar
 * lstats every file and keeps a watcher per file, which measured 16 s and
 * 550 MB of RSS on 100,000 files.
 */
import { watch, type FSWatcher } from 'node:fs'
import { opendir } from 'node:fs/promises'
import { readFolder } from './folder.js'
import { join } from 'node:path'

export interface DirWatchEvents {
  /** Something named `name` changed in folder `dir` (added, written, renamed, removed). */
  onChange(dir: string, name: string): void
  /** A folder (not the root) appeared: its files were not announced one by one. */
  onNewDir(dir: string): void
  /** The root itself is gone. */
  onRootGone(): void
  onError(err: Error): void
}

export class DirWatcher {
  private readonly watchers = new Map<string, FSWatcher>()
  private closed = false

  constructor(
    readonly root: string,
    private readonly events: DirWatchEvents,
    /** Folder names whose subtrees are not watched. */
    private readonly skip: (name: string) => boolean = () => false,
  ) {}

  /** Watches the root and every folder below it; resolves when all are watched. */
  async start(): Promise<void> {
    await this.addTree(this.root, false)
  }

  get size(): number {
    return this.watchers.size
  }

  private async addTree(dir: string, announce: boolean): Promise<void> {
    if (this.closed || this.watchers.has(dir)) return
    if (!this.watchDir(dir)) return
    if (announce) this.events.onNewDir(dir)
    const { dirs } = await readFolder(dir)
    const subdirs = dirs.filter((name) => !this.skip(name)).map((name) => join(dir, name))
    for (const d of subdirs) await this.addTree(d, false)
  }

  private watchDir(dir: string): boolean {
    let w: FSWatcher
    try {
      w = watch(dir, { persistent: false }, (_event, name) => {
        if (!name) return
        const path = join(dir, name.toString())
        this.events.onChange(dir, name.toString())
        if (this.skip(name.toString())) return
        // A new folder: watch it (and what it holds) too.
        opendir(path).then(
          (h) => {
            void h.close()
            if (!this.watchers.has(path)) void this.addTree(path, true)
          },
          () => this.dropTree(path),
        )
      })
    } catch {
      return false
    }
    w.on('error', () => {
      this.dropTree(dir)
      if (dir === this.root) this.events.onRootGone()
    })
    this.watchers.set(dir, w)
    return true
  }

  /** Stops watching a folder that went away, and everything below it. */
  private dropTree(dir: string): void {
    for (const [path, w] of this.watchers) {
      if (path === dir || path.startsWith(`${dir}/`)) {
        w.close()
        this.watchers.delete(path)
      }
    }
    if (dir === this.root && !this.closed) this.events.onRootGone()
  }

  close(): void {
    this.closed = true
    for (const w of this.watchers.values()) w.close()
    this.watchers.clear()
  }
}

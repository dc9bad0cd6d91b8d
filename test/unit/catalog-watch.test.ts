/**
 * The catalog watcher's bound on folder watches: past it, the first refusal
 * is logged once, the watches held stay within the bound, and periodic
 * rescans still bring new files into the catalog. And the walk of a root
 * obeys files.symlinks.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { join } from 'node:path'
import { pino } from 'pino'
import { Catalog, openDb, rootLabel } from '../../src/catalog/index.js'
import { watchCatalog } from '../../src/catalog/watch.js'
import { walkFiles, type FileRow } from '../../src/catalog/scan.js'
import { tempDir } from '../helpers/server.js'

const captured = () => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l))
      done()
    },
  })
  return { logger: pino({ level: 'info' }, stream), lines }
}

const eventually = async (what: string, probe: () => boolean, ms = 8000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const countFiles = (catalog: Catalog, root: { prefix: string; path: string }): number =>
  (catalog.db.prepare('SELECT COUNT(*) AS n FROM files WHERE root = ?').get(rootLabel(root)) as { n: number }).n

test('past catalog.max_watches: logged once, bounded, and rescans see new files', async (t) => {
  const dir = tempDir('outpost-watch-bound-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  for (let i = 0; i < 12; i++) mkdirSync(join(dir, `d${i}/deeper`), { recursive: true })
  const root = { prefix: '/', path: dir }
  const { logger, lines } = captured()
  const catalog = new Catalog({ db: openDb(':memory:'), stores: [], fileRoots: [root], logger })
  t.after(() => catalog.close())
  await catalog.scan()
  const watcher = watchCatalog(catalog, [], [root], logger, { maxWatches: 4, rescanMs: 300 })
  t.after(() => watcher.close())
  await watcher.ready
  assert.ok(watcher.watches <= 4, `${watcher.watches} watches past a bound of 4`)
  assert.equal(watcher.rescanned, 1, 'the root is rescanned instead')
  // More folders past the bound: still one line.
  for (let i = 12; i < 16; i++) mkdirSync(join(dir, `d${i}`))
  // A file deep in a folder that has no watch reaches the catalog by a rescan.
  writeFileSync(join(dir, 'd11/deeper/new.txt'), 'new\n')
  await eventually('d11/deeper/new.txt in the catalog', () => countFiles(catalog, root) === 1)
  assert.ok(watcher.watches <= 4)
  const bound = lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('folder watch bound reached'))
  assert.equal(bound.length, 1, JSON.stringify(lines))
  assert.equal(bound[0]!.level, 40)
  assert.match(String(bound[0]!.msg), /catalog\.max_watches: 4/)
})

test('under the bound: no line, no rescans', async (t) => {
  const dir = tempDir('outpost-watch-bound-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'a/b'), { recursive: true })
  const root = { prefix: '/', path: dir }
  const { logger, lines } = captured()
  const catalog = new Catalog({ db: openDb(':memory:'), stores: [], fileRoots: [root], logger })
  t.after(() => catalog.close())
  const watcher = watchCatalog(catalog, [], [root], logger, { maxWatches: 3, rescanMs: 300 })
  t.after(() => watcher.close())
  await watcher.ready
  assert.equal(watcher.watches, 3)
  assert.equal(watcher.rescanned, 0)
  assert.equal(lines.filter((l) => String(l.msg).includes('watch')).length, 0)
})

test('walkFiles follows a link only as files.symlinks says, and never out of the root or round a loop', async (t) => {
  const dir = tempDir('outpost-walk-links-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const root = join(dir, 'root')
  mkdirSync(join(root, 'sub'), { recursive: true })
  mkdirSync(join(dir, 'outside'))
  writeFileSync(join(root, 'sub/a.txt'), 'a')
  writeFileSync(join(dir, 'outside/secret'), 's')
  symlinkSync('sub', join(root, 'alias'))
  symlinkSync('sub/a.txt', join(root, 'link.txt'))
  symlinkSync(join(dir, 'outside'), join(root, 'out'))
  symlinkSync(join(dir, 'outside/secret'), join(root, 'secret'))
  symlinkSync('..', join(root, 'sub/up'))
  symlinkSync('missing', join(root, 'dangling'))
  const walk = async (symlinks?: 'inside' | 'never', under?: string): Promise<string[]> => {
    const rows: FileRow[] = []
    await walkFiles('r', root, (b) => rows.push(...b), { symlinks, ...(under ? { under } : {}) })
    return rows.map((r) => r.path).sort()
  }
  assert.deepEqual(await walk('inside'), ['alias/a.txt', 'link.txt', 'sub/a.txt'])
  assert.deepEqual(await walk('never'), ['sub/a.txt'])
  assert.deepEqual(await walk(), ['sub/a.txt'], 'no rule: no link followed')
  assert.deepEqual(await walk('inside', join(root, 'alias')), ['alias/a.txt'])
  assert.deepEqual(await walk('inside', join(root, 'out')), [], 'a walk started below a link out of the root')
  assert.deepEqual(await walk('never', join(root, 'alias')), [])
})

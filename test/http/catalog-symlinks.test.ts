/**
 * The catalog obeys files.symlinks as serving does: `ln -s /usr <root>/x`
 * while Outpost runs indexes and watches nothing from /usr (under `inside`
 * and `never`), while a link inside the root is still followed under
 * `inside`. A link re-pointed out of the root takes its rows with it. Past
 * catalog.max_watches, rescans still bring new files in.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { inotifyWatches } from '../helpers/inotify.js'

/** Files the inventory counts under a URL prefix. */
const filesUnder = async (s: TestServer, prefix: string): Promise<number> => {
  const res = await request(s.url)
    .get(`/inventory?prefix=${encodeURIComponent(prefix)}`)
    .set('Accept', 'application/json')
  assert.equal(res.status, 200)
  return (res.body.files as Array<{ count: number }>).reduce((n, f) => n + f.count, 0)
}

const eventually = async (what: string, probe: () => Promise<boolean>, ms = 8000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const symlinks of ['inside', 'never'] as const) {
  describe(`files.symlinks: ${symlinks}`, () => {
    let dir: string
    let root: string
    let s: TestServer
    let watchesBefore: number
    before(async () => {
      dir = tempDir('outpost-links-')
      root = join(dir, 'root')
      mkdirSync(join(root, 'sub'), { recursive: true })
      writeFileSync(join(root, 'sub/a.txt'), 'a\n')
      writeFileSync(join(root, 'top.txt'), 'top\n')
      // There before the start: the first scan obeys the rule too.
      symlinkSync('/usr', join(root, 'early'))
      s = await startTestServer({ files: { roots: [root], symlinks } })
      await s.running.scanned
      await s.running.watcherReady
      watchesBefore = inotifyWatches()
    })
    after(async () => {
      await s?.close()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    test('a link to /usr made while running: nothing from /usr indexed or watched', async () => {
      assert.equal(await filesUnder(s, '/early/'), 0, 'the first scan followed a link out of the root')
      symlinkSync('/usr', join(root, 'x'))
      // Then a plain file: once it is listed, the watcher has seen the link before it.
      writeFileSync(join(root, 'after.txt'), 'after\n')
      await eventually('after.txt listed', async () => (await filesUnder(s, '/after.txt')) === 1)
      // Time for a walk of /usr to have begun, had one been started.
      await sleep(1500)
      assert.equal(await filesUnder(s, '/x/'), 0, 'files from /usr were indexed through the link')
      const added = inotifyWatches() - watchesBefore
      assert.ok(added <= 5, `the watcher added ${added} inotify watches after the link to /usr`)
    })

    test(`a link to a folder inside the root is ${symlinks === 'inside' ? '' : 'not '}followed`, async () => {
      symlinkSync('sub', join(root, 'alias'))
      symlinkSync('sub/a.txt', join(root, 'link.txt'))
      writeFileSync(join(root, 'after2.txt'), 'after\n')
      await eventually('after2.txt listed', async () => (await filesUnder(s, '/after2.txt')) === 1)
      if (symlinks === 'inside') {
        await eventually('alias/a.txt listed', async () => (await filesUnder(s, '/alias/')) === 1)
        await eventually('link.txt listed', async () => (await filesUnder(s, '/link.txt')) === 1)
        // Served there too: the catalog lists what is served.
        assert.equal((await request(s.url).get('/alias/a.txt')).status, 200)
        // A file added in the real folder shows under the link as well.
        writeFileSync(join(root, 'sub/b.txt'), 'b\n')
        await eventually('alias/b.txt listed', async () => (await filesUnder(s, '/alias/')) === 2)
      } else {
        await sleep(1500)
        assert.equal(await filesUnder(s, '/alias/'), 0)
        assert.equal(await filesUnder(s, '/link.txt'), 0)
        assert.equal((await request(s.url).get('/alias/a.txt')).status, 404)
      }
    })

    test('a link re-pointed out of the root leaves the catalog, and its watches go', async () => {
      symlinkSync('sub', join(root, 'flip'))
      writeFileSync(join(root, 'after3.txt'), 'after\n')
      await eventually('after3.txt listed', async () => (await filesUnder(s, '/after3.txt')) === 1)
      if (symlinks === 'inside') await eventually('flip/ listed', async () => (await filesUnder(s, '/flip/')) >= 1)
      unlinkSync(join(root, 'flip'))
      symlinkSync('/usr', join(root, 'flip'))
      await eventually('flip/ gone', async () => (await filesUnder(s, '/flip/')) === 0)
      await sleep(1500)
      assert.equal(await filesUnder(s, '/flip/'), 0)
      const added = inotifyWatches() - watchesBefore
      assert.ok(added <= 8, `the watcher holds ${added} more inotify watches than at start`)
    })

    test('a link that loops back into the root ends the walk', async () => {
      symlinkSync('..', join(root, 'sub/up'))
      writeFileSync(join(root, 'after4.txt'), 'after\n')
      await eventually('after4.txt listed', async () => (await filesUnder(s, '/after4.txt')) === 1)
      await sleep(500)
      assert.equal(await filesUnder(s, '/sub/up/'), 0)
      assert.equal((await request(s.url).get('/healthz')).status, 200)
    })
  })
}

describe('catalog.max_watches and catalog.rescan_interval_s from the configuration', () => {
  let dir: string
  let s: TestServer
  before(async () => {
    dir = tempDir('outpost-watch-bound-')
    for (let i = 0; i < 6; i++) mkdirSync(join(dir, `d${i}/deeper`), { recursive: true })
    s = await startTestServer({ files: { roots: [dir] }, catalog: { max_watches: 3, rescan_interval_s: 1 } })
    await s.running.scanned
    await s.running.watcherReady
  })
  after(async () => {
    await s?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('past the bound, a file in an unwatched folder still reaches the inventory', async () => {
    writeFileSync(join(dir, 'd5/deeper/late.txt'), 'late\n')
    await eventually('d5/deeper/late.txt listed', async () => (await filesUnder(s, '/d5/deeper/')) === 1)
  })
})

/**
 * The file cache under change, through the listener's direct path: a file
 * changed on disk is never served stale once its watch event has come, even
 * when the change keeps its size, inode and modification time (which no stat
 * can see), and a file replaced by a rename or removed likewise.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Hono } from 'hono'
import { tempDir } from '../helpers/server.js'
import { rawRequest } from '../helpers/raw-http.js'
import { FileCache, fileRoutes } from '../../src/repos/index.js'
import { setDirectRoute } from '../../src/http/index.js'
import { requestHandler } from '../../src/server/listen.js'
import { Metrics, silentLogger } from '../../src/server/index.js'

const cleanup: Array<() => void | Promise<void>> = []
after(async () => {
  for (const c of cleanup.reverse()) await c()
})

const serve = async (cache: FileCache) => {
  const dir = tempDir('outpost-change-')
  const files = fileRoutes({ roots: [{ prefix: '/', path: dir }], symlinks: 'inside', logger: silentLogger(), cache })
  const app = new Hono()
  app.route('/', files.router)
  setDirectRoute(app, files.direct)
  const server: Server = createServer(requestHandler(app, { logger: silentLogger(), metrics: new Metrics({ processMetrics: false }) }))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanup.push(
    () => new Promise((r) => server.close(() => r())),
    () => cache.close(),
    () => rmSync(dir, { recursive: true, force: true }),
  )
  const get = async (path: string) => (await rawRequest(`127.0.0.1:${(server.address() as AddressInfo).port}`, path)).body.toString()
  return { dir, get }
}

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 300 && !ok(); i++) await new Promise((r) => setTimeout(r, 10))
  assert.ok(ok(), what)
}

for (const [name, options] of [
  ['bodies cached', {}],
  ['bodies not cached', { maxBodyBytes: 0 }],
] as const) {
  test(`${name}: a change that keeps size, inode and mtime is served once its watch event is in`, async () => {
    const cache = new FileCache(options)
    const { dir, get } = await serve(cache)
    const path = join(dir, 'repomd.xml')
    writeFileSync(path, 'AAAA version 1\n')
    assert.equal(await get('/repomd.xml'), 'AAAA version 1\n')
    assert.equal(await get('/repomd.xml'), 'AAAA version 1\n')
    assert.equal(cache.size, 1)
    const { mtime, ino } = statSync(path)
    writeFileSync(path, 'BBBB version 2\n')
    utimesSync(path, mtime, mtime)
    assert.equal(statSync(path).ino, ino)
    // The watch event drops the entry; from then on only the new bytes are served.
    await until('the watch event dropped the entry', () => cache.size === 0)
    for (let i = 0; i < 5; i++) assert.equal(await get('/repomd.xml'), 'BBBB version 2\n')
  })

  test(`${name}: a file replaced by a rename is served new once its watch event is in, and a removed one is gone`, async () => {
    const cache = new FileCache(options)
    const { dir, get } = await serve(cache)
    const path = join(dir, 'Release')
    writeFileSync(path, 'Suite: one\n')
    assert.equal(await get('/Release'), 'Suite: one\n')
    assert.equal(await get('/Release'), 'Suite: one\n')
    writeFileSync(`${path}.new`, 'Suite: two\n')
    renameSync(`${path}.new`, path)
    await until('the watch event dropped the entry', () => cache.size === 0)
    assert.equal(await get('/Release'), 'Suite: two\n')
    rmSync(path)
    await until('the watch event dropped the entry', () => cache.size === 0)
    assert.equal(await get('/Release'), '404 Not Found\n')
  })
}

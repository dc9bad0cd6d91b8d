import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FileCache, etagFor, type FileEntry } from '../../src/repos/file-cache.js'
import { FileRoots } from '../../src/repos/roots.js'
import { tempDir } from '../helpers/server.js'

const entry = (real: string, size: number, body?: Buffer, checkedAt = 0): FileEntry => ({
  kind: 'file',
  real,
  size,
  mtimeMs: 1,
  ino: 1,
  etag: etagFor(size, 1, 1),
  lastModified: new Date(1).toUTCString(),
  checkedAt,
  ...(body ? { body } : {}),
})

test('entries expire after the TTL; bodies are admitted within the budget', () => {
  const cache = new FileCache({ watch: false, ttlMs: 100, maxBodyBytes: 10, maxBodyFile: 8 })
  const t = (p: string) => cache.watchFor(p)
  cache.put('a', entry('/x/a', 6, Buffer.alloc(6)), [t('/x/a')])
  cache.put('b', entry('/x/b', 6, Buffer.alloc(6)), [t('/x/b')])
  cache.put('c', entry('/x/c', 9, Buffer.alloc(9)), [t('/x/c')])
  assert.equal(cache.get('a', 50)?.body?.length, 6)
  assert.equal(cache.get('b', 50)?.body, undefined, 'over the total budget: metadata only')
  assert.equal(cache.get('c', 50)?.body, undefined, 'over the per-file limit')
  assert.equal(cache.bodyBytes, 6)
  assert.equal(cache.get('a', 100), undefined, 'expired')
  assert.ok(cache.reusableBody('a', 1, 6, 1), 'bytes of an expired entry are reusable for the same inode')
  assert.equal(cache.reusableBody('a', 2, 6, 1), undefined)
  cache.delete('a')
  assert.equal(cache.bodyBytes, 0)
  cache.close()
})

test('first in, first out beyond maxEntries; a missing token stores nothing', () => {
  const cache = new FileCache({ watch: false, maxEntries: 2 })
  for (const k of ['a', 'b', 'c']) cache.put(k, entry(`/x/${k}`, 1), [cache.watchFor(`/x/${k}`)])
  assert.equal(cache.size, 2)
  assert.equal(cache.get('a', 0), undefined)
  cache.put('d', entry('/x/d', 1), [null])
  assert.equal(cache.get('d', 0), undefined)
  cache.close()
})

test('a change in a watched directory drops the entry; a lookup racing a change is not stored', async (t) => {
  const dir = tempDir('outpost-cache-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const cache = new FileCache()
  t.after(() => cache.close())
  const file = join(dir, 'f.txt')
  writeFileSync(file, 'one')
  cache.put('k', entry(file, 3, Buffer.from('one'), performance.now()), [cache.watchFor(file)])
  assert.ok(cache.get('k', performance.now()))
  writeFileSync(file, 'two')
  for (let i = 0; i < 100 && cache.get('k', performance.now()); i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(cache.get('k', performance.now()), undefined)
  const token = cache.watchFor(file)
  writeFileSync(join(dir, 'other'), 'x')
  for (let i = 0; i < 100 && token!.watch!.generation === token!.generation; i++) await new Promise((r) => setTimeout(r, 10))
  cache.put('k', entry(file, 3, Buffer.from('two'), performance.now()), [token])
  assert.equal(cache.get('k', performance.now()), undefined)
})

test('FileRoots.locate: cached small files cost no second lookup; FIFOs are refused without blocking', async (t) => {
  const dir = tempDir('outpost-roots-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'd'))
  writeFileSync(join(dir, 'd', 'f.txt'), 'hello')
  const cache = new FileCache()
  t.after(() => cache.close())
  const roots = new FileRoots({ roots: [{ prefix: '/', path: dir }], symlinks: 'inside', cache, smallBodyLimit: 1024 })
  const root = roots.roots[0]!
  const a = await roots.locate(root, ['d', 'f.txt'])
  assert.equal(a?.kind, 'file')
  assert.equal(a?.kind === 'file' && a.body?.toString(), 'hello')
  const b = await roots.locate(root, ['d', 'f.txt'])
  assert.equal(b?.kind === 'file' && b.entry, a?.kind === 'file' && a.entry, 'second lookup is a cache hit')
  assert.equal((await roots.locate(root, ['d']))?.kind, 'dir')
  assert.equal(await roots.locate(root, ['nope']), null)
  const { execFileSync } = await import('node:child_process')
  execFileSync('mkfifo', [join(dir, 'fifo')])
  assert.equal(await roots.locate(root, ['fifo']), null)
})

test('an expired entry whose file has not changed is confirmed in place', async (t) => {
  const dir = tempDir('outpost-roots-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'f.txt'), 'hello')
  const cache = new FileCache({ ttlMs: 1 })
  t.after(() => cache.close())
  const roots = new FileRoots({ roots: [{ prefix: '/', path: dir }], symlinks: 'inside', cache, smallBodyLimit: 1024 })
  const a = roots.locate(roots.roots[0]!, ['f.txt'])
  await new Promise((r) => setTimeout(r, 5))
  const b = roots.locate(roots.roots[0]!, ['f.txt'])
  assert.ok(a?.kind === 'file' && b?.kind === 'file')
  assert.equal(b.entry, a.entry, 'same entry object')
  assert.ok(b.entry.checkedAt > 0)
  writeFileSync(join(dir, 'f.txt'), 'hello, again')
  await new Promise((r) => setTimeout(r, 5))
  const c = roots.locate(roots.roots[0]!, ['f.txt'])
  assert.ok(c?.kind === 'file')
  assert.equal(c.body?.toString(), 'hello, again')
  assert.notEqual(c.entry, a.entry)
})

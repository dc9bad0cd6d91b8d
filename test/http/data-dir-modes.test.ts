/**
 * Outpost's own files are closed to other users whatever the umask: after a
 * start under umask 022, data_dir and tls/ are 0700 and catalog.db (with
 * its -wal and -shm) 0600; a data_dir an earlier version left 0755 is
 * closed on the next start.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { startTestServer, tempDir } from '../helpers/server.js'

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8)

const underUmask = async <T>(mask: number, job: () => Promise<T>): Promise<T> => {
  const before = process.umask(mask)
  try {
    return await job()
  } finally {
    process.umask(before)
  }
}

test('a first start under umask 022: data_dir and tls/ 0700, the database files 0600', async (t) => {
  const dir = tempDir()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const data = join(dir, 'var/lib/outpost')
  const s = await underUmask(0o022, () => startTestServer({ data_dir: data, listen: { https: '127.0.0.1:0' } }))
  t.after(() => s.close())
  // A write, so the -wal and -shm files exist.
  await request(s.url)
    .post('/nodes/checkin')
    .send({ hostname: 'node-1', addresses: ['10.0.0.1'] })
    .expect(200)
  assert.equal(mode(data), '700')
  assert.equal(mode(join(data, 'tls')), '700')
  assert.equal(mode(join(data, 'tls/ca.key')), '600')
  assert.equal(mode(join(data, 'tls/server.key')), '600')
  for (const f of ['catalog.db', 'catalog.db-wal', 'catalog.db-shm']) {
    assert.ok(existsSync(join(data, f)), f)
    assert.equal(mode(join(data, f)), '600', f)
  }
})

test('a data_dir an earlier start left open is closed on the next start', async (t) => {
  const dir = tempDir()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const data = join(dir, 'data')
  const first = await startTestServer({ data_dir: data, listen: { https: '127.0.0.1:0' } })
  await first.close()
  chmodSync(data, 0o755)
  chmodSync(join(data, 'tls'), 0o755)
  for (const f of ['catalog.db', 'catalog.db-wal', 'catalog.db-shm']) if (existsSync(join(data, f))) chmodSync(join(data, f), 0o644)
  const s = await underUmask(0o022, () => startTestServer({ data_dir: data, listen: { https: '127.0.0.1:0' } }))
  t.after(() => s.close())
  assert.equal(mode(data), '700')
  assert.equal(mode(join(data, 'tls')), '700')
  assert.equal(mode(join(data, 'catalog.db')), '600')
})

test('a data_dir that holds other things is left as it is', async (t) => {
  const dir = tempDir()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'someone-elses'))
  chmodSync(dir, 0o755)
  const s = await startTestServer({ data_dir: dir })
  t.after(() => s.close())
  assert.equal(mode(dir), '755')
  assert.equal(mode(join(dir, 'catalog.db')), '600')
})

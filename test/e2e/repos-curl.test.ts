/**
 * curl against kubespray's files_repo layout served by Outpost: a full
 * download, byte ranges, a resumed download (`-C -`) and a conditional one
 * (`-z`), each checked by sha256.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestServer, tempDir } from '../helpers/server.js'
import { requireTools, runOk } from '../helpers/tools.js'

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

const FILES_PATH = 'files/storage.googleapis.com/kubernetes-release/release/v1.21.3/bin/linux/amd64'

test('curl: full, ranges, resume and conditional downloads of a binary', async (t) => {
  requireTools({ curl: 'curl' })
  const work = tempDir('outpost-curl-')
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const root = join(work, 'nginx')
  mkdirSync(join(root, FILES_PATH), { recursive: true })
  // Past the small-body limit, so the chunked fast path is what is tested.
  const kubeadm = randomBytes(3 * 1024 * 1024 + 17)
  writeFileSync(join(root, FILES_PATH, 'kubeadm'), kubeadm)
  writeFileSync(join(root, FILES_PATH, 'kubeadm.sha256'), `${sha256(kubeadm)}  kubeadm\n`)
  const s = await startTestServer({ files: { roots: [{ prefix: '/', path: root }] } })
  t.after(() => s.close())
  const url = `${s.url}/${FILES_PATH}/kubeadm`
  const out = (name: string): string => join(work, name)
  const curl = (...args: string[]) => runOk('curl', ['--silent', '--show-error', '--fail', ...args])

  // Full download, and the .sha256 beside it as kubespray checks it.
  await curl('-o', out('full'), url)
  assert.equal(sha256(readFileSync(out('full'))), sha256(kubeadm))
  const sum = await curl(`${url}.sha256`)
  assert.equal(sum.stdout.split(/\s+/)[0], sha256(kubeadm))

  // Ranges: bounded, open-ended, suffix.
  const size = kubeadm.length
  for (const [range, start, end] of [
    ['0-1023', 0, 1023],
    ['1000000-', 1000000, size - 1],
    ['-4096', size - 4096, size - 1],
    ['3145700-3145799', 3145700, size - 1], // clamped to the end
  ] as const) {
    const r = await curl('-r', range, '-o', out('range'), '-w', '%{http_code} %{size_download}', url)
    assert.equal(r.stdout, `206 ${end - start + 1}`, range)
    assert.equal(sha256(readFileSync(out('range'))), sha256(kubeadm.subarray(start, end + 1)), range)
  }

  // Resume: a partial file is completed with -C - (Range: bytes=N-).
  writeFileSync(out('resume'), kubeadm.subarray(0, 1234567))
  const resumed = await curl('-C', '-', '-o', out('resume'), '-w', '%{http_code}', url)
  assert.equal(resumed.stdout, '206')
  assert.equal(sha256(readFileSync(out('resume'))), sha256(kubeadm))

  // Conditional: -z FILE sends If-Modified-Since with the file's mtime.
  const mtime = statSync(join(root, FILES_PATH, 'kubeadm')).mtime
  utimesSync(out('full'), mtime, new Date(mtime.getTime() + 60_000))
  const notModified = await curl('-z', out('full'), '-o', out('cond'), '-w', '%{http_code} %{size_download}', url)
  assert.equal(notModified.stdout, '304 0')
  utimesSync(out('full'), mtime, new Date(mtime.getTime() - 3_600_000))
  const modified = await curl('-z', out('full'), '-o', out('cond'), '-w', '%{http_code}', url)
  assert.equal(modified.stdout, '200')
  assert.equal(sha256(readFileSync(out('cond'))), sha256(kubeadm))

  // HEAD (-I) gives the length, validators and ranges support without a body.
  const head = await curl('-I', url)
  assert.match(head.stdout, new RegExp(`content-length: ${size}\\r?\\n`, 'i'))
  assert.match(head.stdout, /accept-ranges: bytes/i)
  assert.match(head.stdout, /etag: "/i)
  assert.match(head.stdout, /last-modified: /i)
})

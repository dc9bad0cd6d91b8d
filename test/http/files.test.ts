import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { rmSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { buildFileTree, CONTENT_TYPES, HOSTILE_PATHS, SECRET, SPECIAL_NAMES, type FileTree } from '../helpers/file-tree.js'
import { rawRequest } from '../helpers/raw-http.js'
import { encodeSegment } from '../../src/repos/safe-path.js'
import { hiddenEntries } from '../../src/repos/hidden.js'
import { BUILT_IN_PATHS } from '../../src/server/app.js'

let tree: FileTree
let s: TestServer

before(async () => {
  tree = buildFileTree(tempDir('outpost-files-'))
  s = await startTestServer({
    files: {
      roots: [
        { prefix: '/', path: tree.root },
        { prefix: '/extra', path: tree.extra },
      ],
    },
  })
})

after(async () => {
  await s?.close()
  rmSync(tree.base, { recursive: true, force: true })
})

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

/** A superagent parser that keeps any body as a Buffer. */
const binary = (res: import('superagent').Response, cb: (err: Error | null, body: Buffer) => void): void => {
  const stream = res as unknown as NodeJS.ReadableStream
  const chunks: Buffer[] = []
  stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)))
  stream.on('end', () => cb(null, Buffer.concat(chunks)))
}

test('GET a small file: body, length, validators, type', async () => {
  const res = await request(s.url).get('/a.txt')
  assert.equal(res.status, 200)
  assert.equal(res.text, 'hello, world\n')
  assert.equal(res.headers['content-length'], '13')
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
  assert.equal(res.headers['accept-ranges'], 'bytes')
  assert.match(res.headers['etag'], /^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/)
  assert.ok(!Number.isNaN(Date.parse(res.headers['last-modified'])))
})

test('HEAD sends the GET headers and no body, small and large', async () => {
  for (const [path, length] of [
    ['/a.txt', '13'],
    ['/big.bin', String(tree.big.length)],
  ] as const) {
    const get = await request(s.url).get(path).buffer(true).parse(binary)
    const head = await request(s.url).head(path)
    assert.equal(head.status, 200)
    assert.equal(head.headers['content-length'], length)
    assert.equal(head.headers['etag'], get.headers['etag'])
    assert.equal(head.headers['content-type'], get.headers['content-type'])
    const raw = await rawRequest(s.hostPort, path, 'HEAD')
    assert.equal(raw.status, 200)
    assert.equal(raw.body.length, 0, `${path}: HEAD must not send a body`)
  }
})

test('GET a large file takes the fast path and is byte-exact', async () => {
  const res = await request(s.url).get('/big.bin').buffer(true).parse(binary)
  assert.equal(res.status, 200)
  assert.equal(res.headers['content-length'], String(tree.big.length))
  assert.equal(sha256(res.body), sha256(tree.big))
  assert.equal(res.headers['content-type'], 'application/octet-stream')
})

test('concurrent large downloads and ranges are byte-exact (chunk buffers are reused)', async () => {
  const want = sha256(tree.big)
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      i % 3 === 2
        ? request(s.url)
            .get('/big.bin')
            .set('Range', `bytes=${i * 1000}-`)
            .buffer(true)
            .parse(binary)
        : request(s.url).get('/big.bin').buffer(true).parse(binary),
    ),
  )
  results.forEach((res, i) => {
    if (i % 3 === 2) {
      assert.equal(res.status, 206)
      assert.equal(sha256(res.body), sha256(tree.big.subarray(i * 1000)), `range ${i}`)
    } else {
      assert.equal(sha256(res.body), want, `download ${i}`)
    }
  })
})

test('empty file', async () => {
  const res = await request(s.url).get('/empty.txt')
  assert.equal(res.status, 200)
  assert.equal(res.headers['content-length'], '0')
  const r = await request(s.url).get('/empty.txt').set('Range', 'bytes=0-')
  assert.equal(r.status, 416)
  assert.equal(r.headers['content-range'], 'bytes */0')
})

test('single ranges: bounded, open-ended, suffix, clamped (RFC 9110 §14)', async () => {
  const size = tree.big.length
  const cases: Array<[string, number, number]> = [
    ['bytes=0-9', 0, 9],
    ['bytes=100-', 100, size - 1],
    ['bytes=-17', size - 17, size - 1],
    ['bytes=1048570-99999999', 1048570, size - 1],
    ['bytes=0-', 0, size - 1],
    ['bytes=-99999999', 0, size - 1],
    ['bytes=5-300000', 5, 300000],
  ]
  for (const [range, start, end] of cases) {
    const res = await request(s.url).get('/big.bin').set('Range', range).buffer(true).parse(binary)
    assert.equal(res.status, 206, range)
    assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`, range)
    assert.equal(res.headers['content-length'], String(end - start + 1), range)
    assert.ok(Buffer.compare(res.body, tree.big.subarray(start, end + 1)) === 0, range)
  }
  const small = await request(s.url).get('/a.txt').set('Range', 'bytes=7-11')
  assert.equal(small.status, 206)
  assert.equal(small.text, 'world')
})

test('unsatisfiable ranges are 416 with Content-Range */size; ranges we do not serve get 200', async () => {
  for (const range of ['bytes=13-', 'bytes=13-20', 'bytes=-0']) {
    const res = await request(s.url).get('/a.txt').set('Range', range)
    assert.equal(res.status, 416, range)
    assert.equal(res.headers['content-range'], 'bytes */13', range)
  }
  for (const range of ['bytes=0-1,3-4', 'items=0-1', 'bytes=5-1', 'bytes=x-y']) {
    const res = await request(s.url).get('/a.txt').set('Range', range)
    assert.equal(res.status, 200, range)
    assert.equal(res.text, 'hello, world\n')
  }
})

test('conditional requests: If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since', async () => {
  const first = await request(s.url).get('/a.txt')
  const etag = first.headers['etag']
  const lm = first.headers['last-modified']
  let res = await request(s.url).get('/a.txt').set('If-None-Match', etag)
  assert.equal(res.status, 304)
  assert.equal(res.headers['etag'], etag)
  assert.equal(res.headers['last-modified'], lm)
  res = await request(s.url).get('/a.txt').set('If-None-Match', `"other", W/${etag}`)
  assert.equal(res.status, 304, 'weak comparison for If-None-Match')
  res = await request(s.url).get('/a.txt').set('If-None-Match', '"other"')
  assert.equal(res.status, 200)
  res = await request(s.url).get('/a.txt').set('If-Modified-Since', lm)
  assert.equal(res.status, 304)
  res = await request(s.url)
    .get('/a.txt')
    .set('If-Modified-Since', new Date(Date.parse(lm) + 3600_000).toUTCString())
  assert.equal(res.status, 304, 'a later date is not modified either (RFC 9110 §13.1.3)')
  res = await request(s.url).get('/a.txt').set('If-Modified-Since', 'Thu, 01 Jan 1970 00:00:00 GMT')
  assert.equal(res.status, 200)
  res = await request(s.url).get('/a.txt').set('If-None-Match', '"other"').set('If-Modified-Since', lm)
  assert.equal(res.status, 200, 'If-None-Match wins over If-Modified-Since')
  res = await request(s.url).get('/a.txt').set('If-Match', '"other"')
  assert.equal(res.status, 412)
  res = await request(s.url).get('/a.txt').set('If-Match', etag)
  assert.equal(res.status, 200)
  res = await request(s.url).get('/a.txt').set('If-Unmodified-Since', 'Thu, 01 Jan 1970 00:00:00 GMT')
  assert.equal(res.status, 412)
  res = await request(s.url)
    .head('/big.bin')
    .set('If-None-Match', (await request(s.url).head('/big.bin')).headers['etag'])
  assert.equal(res.status, 304)
})

test('If-Range: a matching validator keeps the range, a stale one gets the whole file', async () => {
  const head = await request(s.url).head('/big.bin')
  const etag = head.headers['etag']
  const lm = head.headers['last-modified']
  let res = await request(s.url).get('/big.bin').set('Range', 'bytes=0-9').set('If-Range', etag).buffer(true).parse(binary)
  assert.equal(res.status, 206)
  res = await request(s.url).get('/big.bin').set('Range', 'bytes=0-9').set('If-Range', lm).buffer(true).parse(binary)
  assert.equal(res.status, 206, 'date equal to Last-Modified')
  res = await request(s.url).get('/big.bin').set('Range', 'bytes=0-9').set('If-Range', '"stale"').buffer(true).parse(binary)
  assert.equal(res.status, 200)
  assert.equal(res.body.length, tree.big.length)
  res = await request(s.url).get('/big.bin').set('Range', 'bytes=0-9').set('If-Range', `W/${etag}`).buffer(true).parse(binary)
  assert.equal(res.status, 200, 'a weak tag never matches If-Range')
  res = await request(s.url)
    .get('/big.bin')
    .set('Range', 'bytes=0-9')
    .set('If-Range', 'Thu, 01 Jan 1970 00:00:00 GMT')
    .buffer(true)
    .parse(binary)
  assert.equal(res.status, 200)
})

test('Content-Type by extension', async () => {
  for (const [name, type] of Object.entries(CONTENT_TYPES)) {
    const res = await request(s.url).head(`/types/${name}`)
    assert.equal(res.status, 200, name)
    assert.equal(res.headers['content-type'], type, name)
  }
})

test('a directory without its slash is redirected (301), keeping the query', async () => {
  let res = await request(s.url).get('/list')
  assert.equal(res.status, 301)
  assert.equal(res.headers['location'], '/list/')
  res = await request(s.url).get('/list?x=1&y=%20')
  assert.equal(res.headers['location'], '/list/?x=1&y=%20')
  res = await request(s.url).get('/extra')
  assert.equal(res.status, 301)
  assert.equal(res.headers['location'], '/extra/')
  res = await request(s.url).get('/list/./c')
  assert.equal(res.headers['location'], '/list/c/')
})

test('index.html is served for a directory; a file with a trailing slash is 404', async () => {
  let res = await request(s.url).get('/site/')
  assert.equal(res.status, 200)
  assert.equal(res.text, '<h1>site</h1>\n')
  assert.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  assert.ok(res.headers['etag'])
  res = await request(s.url).get('/a.txt/')
  assert.equal(res.status, 404)
})

test('HTML listing: names, sizes, dates, directories first, sorted, dot-names and hidden entries left out', async () => {
  const res = await request(s.url).get('/list/')
  assert.equal(res.status, 200)
  assert.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  assert.equal(res.headers['vary'], 'Accept')
  const names = [...res.text.matchAll(/<a href="([^"]+)">/g)].map((m) => m[1])
  assert.deepEqual(names, ['../', './c/', './a.txt', './b.txt'])
  assert.match(res.text, /<td class="size">3<\/td>/)
  assert.match(res.text, /\d{4}-\d\d-\d\d \d\d:\d\d/)
  assert.doesNotMatch(res.text, /hidden/)
  const root = await request(s.url).get('/')
  assert.doesNotMatch(root.text, /href="\.\/healthz\/"/, '/healthz belongs to the built-in endpoint')
  assert.doesNotMatch(root.text, /href="\.\/v2\/"/)
  assert.doesNotMatch(root.text, /escape/, 'symlinks that leave the root are not listed')
  assert.match(root.text, /href="\.\/inside-link"/)
})

test('JSON listing when the client asks for application/json (nginx autoindex_format json)', async () => {
  const res = await request(s.url).get('/list/').set('Accept', 'application/json')
  assert.equal(res.status, 200)
  assert.match(res.headers['content-type'], /^application\/json/)
  assert.equal(res.headers['vary'], 'Accept')
  const body = res.body as Array<{ name: string; type: string; mtime: string; size?: number }>
  assert.deepEqual(
    body.map((e) => [e.name, e.type, e.size]),
    [
      ['c', 'directory', undefined],
      ['a.txt', 'file', 2],
      ['b.txt', 'file', 3],
    ],
  )
  assert.ok(!Number.isNaN(Date.parse(body[0]!.mtime)))
  const html = await request(s.url).get('/list/').set('Accept', 'text/html,application/json;q=0.9,*/*;q=0.8')
  assert.match(html.headers['content-type'], /^text\/html/)
})

test('names with spaces, %, #, ? and non-ASCII characters work both ways', async () => {
  for (const name of SPECIAL_NAMES) {
    const res = await request(s.url).get('/' + encodeSegment(name))
    assert.equal(res.status, 200, name)
    assert.equal(res.text, `content of ${name}\n`, name)
  }
  // The listing's links lead back to the same files.
  const listing = await request(s.url).get('/')
  const hrefs = [...listing.text.matchAll(/<a href="\.\/([^"]+)">/g)].map((m) => m[1]!.replace(/&amp;/g, '&').replace(/&#39;/g, "'"))
  for (const name of SPECIAL_NAMES) {
    const href = hrefs.find((h) => decodeURIComponent(h) === name)
    assert.ok(href, `listing links ${name}`)
    const res = await request(s.url).get('/' + href)
    assert.equal(res.text, `content of ${name}\n`, href)
  }
  const json = await request(s.url).get('/').set('Accept', 'application/json')
  for (const name of SPECIAL_NAMES)
    assert.ok(
      (json.body as Array<{ name: string }>).some((e) => e.name === name),
      name,
    )
})

test('hostile paths are refused with 400 or 404 and no byte of another file', async () => {
  for (const path of HOSTILE_PATHS) {
    const res = await rawRequest(s.hostPort, path)
    assert.ok(res.status === 400 || res.status === 404, `${path.slice(0, 80)} → ${res.status}`)
    assert.ok(!res.body.toString('latin1').includes(SECRET), `${path.slice(0, 80)} leaked the secret`)
    assert.ok(!res.body.toString('latin1').includes('root:x:0:0'), `${path.slice(0, 80)} leaked /etc/passwd`)
    assert.equal(res.headers['x-injected'], undefined)
  }
})

test('symlinks inside the root are followed', async () => {
  const link = await request(s.url).get('/inside-link').buffer(true).parse(binary)
  assert.equal(link.status, 200)
  assert.equal(link.body.toString(), 'hello, world\n')
  const res = await request(s.url).get('/inside-dir/b.txt')
  assert.equal(res.text, 'bb\n')
})

test('symlinks: never refuses every symlink', async (t) => {
  const strict = await startTestServer({ files: { roots: [{ prefix: '/', path: tree.root }], symlinks: 'never' } })
  t.after(() => strict.close())
  for (const path of ['/inside-link', '/inside-dir/b.txt', '/escape', '/sibling']) {
    const res = await request(strict.url).get(path)
    assert.equal(res.status, 404, path)
  }
  assert.equal((await request(strict.url).get('/a.txt')).status, 200)
  const listing = await request(strict.url).get('/')
  assert.doesNotMatch(listing.text, /inside-link/)
})

test('built-in endpoints take precedence and hidden entries are reported', async () => {
  let res = await request(s.url).get('/healthz')
  assert.equal(res.text, 'ok\n')
  res = await request(s.url).get('/healthz/x')
  assert.equal(res.status, 404)
  res = await request(s.url).get('/v2/x')
  assert.equal(res.status, 404)
  assert.match(res.headers['content-type'], /json/, 'the registry answers for /v2/')
  const hidden = await hiddenEntries(
    [
      { prefix: '/', path: tree.root },
      { prefix: '/extra', path: tree.extra },
      { prefix: '/setup/x', path: tree.extra },
    ],
    BUILT_IN_PATHS,
  )
  const urls = hidden.map((h) => `${h.url} ${h.hiddenBy.split(' (')[0]}`).sort()
  assert.deepEqual(urls, ['/healthz /healthz', '/setup/x /setup', '/v2 /v2'])
})

test('a second root at a prefix; methods other than GET and HEAD are 405', async () => {
  let res = await request(s.url).get('/extra/x.txt')
  assert.equal(res.text, 'extra\n')
  res = await request(s.url).post('/a.txt')
  assert.equal(res.status, 405)
  assert.equal(res.headers['allow'], 'GET, HEAD')
  res = await request(s.url).get('/nothing-here')
  assert.equal(res.status, 404)
})

test('a cached file that changes is served fresh', async () => {
  const path = join(tree.root, 'changing.txt')
  writeFileSync(path, 'version 1\n')
  const first = await request(s.url).get('/changing.txt')
  assert.equal(first.text, 'version 1\n')
  assert.equal((await request(s.url).get('/changing.txt')).text, 'version 1\n')
  writeFileSync(path, 'version 2\n')
  utimesSync(path, new Date(), new Date(Date.now() + 5000))
  let res = await request(s.url).get('/changing.txt')
  for (let i = 0; i < 50 && res.text !== 'version 2\n'; i++) {
    await new Promise((r) => setTimeout(r, 20))
    res = await request(s.url).get('/changing.txt')
  }
  assert.equal(res.text, 'version 2\n')
  assert.notEqual(res.headers['etag'], first.headers['etag'])
  rmSync(path)
  for (let i = 0; i < 50 && res.status !== 404; i++) {
    await new Promise((r) => setTimeout(r, 20))
    res = await request(s.url).get('/changing.txt')
  }
  assert.equal(res.status, 404)
})

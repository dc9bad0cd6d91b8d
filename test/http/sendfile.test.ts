/**
 * Large bodies by sendfile (the outpost-sendfile addon) and by the JavaScript
 * path (`server.sendfile: off`), over real sockets: the same bytes for blobs
 * and files, whole and in ranges; keep-alive and pipelining after a body; a
 * client that goes away mid-body and slow readers leak no descriptor (counted
 * in /proc/self/fd: the server runs in this process) and hold up no other
 * request; a file cut short mid-body cuts the connection; HTTPS bodies stay
 * on the JavaScript path. `npm ci` builds the addon: when it does not load,
 * these fail (they never skip).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { bodyPath, sendfileStats, SMALL_BODY_LIMIT } from '../../src/http/index.js'
import { Registry2Writer } from '../../src/images/index.js'
import { blobOf, type Blob } from '../../src/demo/images.js'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { startTestServer, tempDir } from '../helpers/server.js'
import { loadConfig, silentLogger, startServer } from '../../src/server/index.js'
import { requireTool } from '../helpers/procs.js'
import { run } from '../helpers/tools.js'

const MiB = 1024 * 1024
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const fdCount = (): number => readdirSync('/proc/self/fd').length
/** The descriptor count once it holds still for 200 ms (connections of earlier requests closing). */
const steadyFdCount = async (): Promise<number> => {
  let last = fdCount()
  for (let i = 0; i < 25; i++) {
    await sleep(200)
    const now = fdCount()
    if (now === last) return now
    last = now
  }
  return last
}
/** Waits (up to 5 s) for the descriptor count to come down to `base`; returns it. */
const fdCountBackTo = async (base: number): Promise<number> => {
  for (let i = 0; i < 100 && fdCount() > base; i++) await sleep(50)
  return fdCount()
}
const assertNoLeak = async (base: number, what: string): Promise<void> => {
  const now = await fdCountBackTo(base)
  assert.ok(now <= base, `${what}: ${now} descriptors open, ${base} before`)
}
const idle = async (): Promise<void> => {
  for (let i = 0; i < 100 && sendfileStats().active > 0; i++) await sleep(50)
  assert.equal(sendfileStats().active, 0, 'transfers left in the engine')
}

interface Got {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

/** One GET on a connection of its own (no agent, Connection: close). */
const get = (url: string, headers: Record<string, string> = {}): Promise<Got> =>
  new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http
    const req = mod.get(url, { agent: false, headers, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
  })

/** One keep-alive connection, read by hand: responses parsed by Content-Length. */
class Conn {
  readonly socket: Socket
  private chunks: Buffer[] = []
  private total = 0
  private wake: (() => void) | null = null
  closed = false
  constructor(hostPort: string) {
    const i = hostPort.lastIndexOf(':')
    this.socket = connect(Number(hostPort.slice(i + 1)), hostPort.slice(0, i))
    this.socket.on('data', (d: Buffer) => {
      this.chunks.push(d)
      this.total += d.length
      this.wake?.()
    })
    this.socket.on('close', () => {
      this.closed = true
      this.wake?.()
    })
    this.socket.on('error', () => {})
  }
  send(...paths: Array<string | [string, Record<string, string>]>): void {
    const text = paths
      .map((p) => {
        const [path, headers] = typeof p === 'string' ? [p, {}] : p
        return [`GET ${path} HTTP/1.1`, 'Host: outpost', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n')
      })
      .join('')
    this.socket.write(text)
  }
  /** What has arrived, as one buffer (joined once, not on every chunk). */
  private flat(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks)]
    return this.chunks[0]!
  }
  private async until(check: () => boolean): Promise<void> {
    while (!check()) {
      if (this.closed) throw new Error(`connection closed with ${this.total} bytes unread`)
      await new Promise<void>((r) => (this.wake = r))
      this.wake = null
    }
  }
  async response(): Promise<Got> {
    await this.until(() => this.flat().indexOf('\r\n\r\n') >= 0)
    const head = this.flat().indexOf('\r\n\r\n')
    const [statusLine, ...lines] = this.flat().subarray(0, head).toString('latin1').split('\r\n')
    const headers: http.IncomingHttpHeaders = {}
    for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim()
    const end = head + 4 + Number(headers['content-length'])
    await this.until(() => this.total >= end)
    const all = this.flat()
    const body = all.subarray(head + 4, end)
    this.chunks = [all.subarray(end)]
    this.total = all.length - end
    return { status: Number(statusLine!.split(' ')[1]), headers, body }
  }
  close(): void {
    this.socket.destroy()
  }
}

/** A client that sends one GET and then reads about `rate` bytes a second, until stopped. */
const slowReader = (hostPort: string, path: string, rate = 16 * 1024) => {
  const i = hostPort.lastIndexOf(':')
  const socket = connect(Number(hostPort.slice(i + 1)), hostPort.slice(0, i))
  let received = 0
  let timer: NodeJS.Timeout | undefined
  socket.on('error', () => {})
  socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: outpost\r\n\r\n`))
  socket.on('data', (d: Buffer) => {
    received += d.length
    socket.pause()
    timer = setTimeout(() => socket.resume(), (1000 * d.length) / rate)
  })
  return {
    received: () => received,
    stop: () => {
      clearTimeout(timer)
      socket.destroy()
    },
  }
}

/** Response body bytes counted in /metrics for a route and status. */
const metricBytes = async (url: string, route: string, status: number): Promise<number> => {
  const text = (await get(`${url}/metrics`)).body.toString()
  const line = text.split('\n').find((l) => l.startsWith(`outpost_http_response_bytes_total{route="${route}",status="${status}"}`))
  return line ? Number(line.split(' ').pop()) : 0
}

describe('large bodies by sendfile and by JavaScript', () => {
  let dir: string
  let fx: Fixture
  let files: string
  let big: Buffer
  let mid: Buffer
  /** A blob larger than loopback's socket buffers (the fixture's is 3 MiB). */
  let bigBlob: Blob
  const server = (sendfile: 'auto' | 'off', extra: Record<string, unknown> = {}) =>
    startTestServer({
      registry: { roots: [join(dir, 'registry')] },
      files: { roots: [files] },
      server: { sendfile },
      ...extra,
    })
  const blobPath = (b: Blob = bigBlob) => `/v2/library/multi/blobs/${b.digest}`

  before(async () => {
    dir = tempDir('outpost-sendfile-')
    fx = await buildRegistry2(join(dir, 'registry'))
    bigBlob = blobOf(randomBytes(24 * MiB + 11))
    new Registry2Writer(join(dir, 'registry')).linkLayer('library/multi', bigBlob)
    files = join(dir, 'files')
    mkdirSync(files)
    // Larger than loopback's socket buffers together, so a reader that stops stalls the sender.
    big = randomBytes(24 * MiB + 5)
    mid = randomBytes(SMALL_BODY_LIMIT + 1)
    writeFileSync(join(files, 'big.bin'), big)
    writeFileSync(join(files, 'mid.bin'), mid)
    writeFileSync(join(files, 'small.txt'), 'small\n')
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('the addon is built and in use', async () => {
    const s = await server('auto')
    try {
      const path = bodyPath()
      assert.ok(path.sendfile, `${path.detail} (npm ci builds native/sendfile; see native/sendfile/build-error.log)`)
      const before = sendfileStats().transfers
      const res = await get(`${s.url}/big.bin`)
      assert.equal(sha(res.body), sha(big))
      assert.equal(sendfileStats().transfers, before + 1)
      assert.ok(sendfileStats().threads >= 1)
    } finally {
      await s.close()
    }
  })

  test('sendfile and JavaScript send the same bytes for blobs and files, whole and in ranges; bytes are counted', async () => {
    const curl = requireTool('curl', 'curl')
    const targets: Array<[string, Buffer]> = [
      [blobPath(fx.big), fx.big.bytes],
      [blobPath(), bigBlob.bytes],
      ['/big.bin', big],
      ['/mid.bin', mid],
    ]
    const ranges = (size: number): Array<[string, number, number]> => [
      ['', 0, size - 1],
      ['bytes=0-0', 0, 0],
      ['bytes=1000-2000999', 1000, Math.min(2000999, size - 1)],
      [`bytes=${size >> 1}-`, size >> 1, size - 1],
      ['bytes=-262145', size - 262145, size - 1],
      [`bytes=${size - 100}-${size + 100}`, size - 100, size - 1],
    ]
    const seen: Record<string, Record<string, string>> = {}
    for (const mode of ['auto', 'off'] as const) {
      const s = await server(mode)
      try {
        const before = sendfileStats().transfers
        const bytesBefore = await metricBytes(s.url, 'files', 200)
        seen[mode] = {}
        for (const [path, bytes] of targets) {
          for (const [range, start, end] of ranges(bytes.length)) {
            const res = await get(`${s.url}${path}`, range ? { Range: range } : {})
            const what = `${mode} ${path} ${range || 'whole'}`
            assert.equal(res.status, range ? 206 : 200, what)
            assert.equal(res.headers['content-length'], String(end - start + 1), what)
            if (range) assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${bytes.length}`, what)
            assert.equal(sha(res.body), sha(bytes.subarray(start, end + 1)), what)
            seen[mode]![`${path} ${range}`] = sha(res.body)
          }
          // curl, as nodes fetch files.
          const out = join(dir, `curl-${mode}`)
          await run(curl, ['-fsS', '-o', out, '-r', '4096-', `${s.url}${path}`])
          await run(curl, ['-fsS', '-o', `${out}-whole`, `${s.url}${path}`])
          assert.equal(sha(readFileSync(out)), sha(bytes.subarray(4096)), `${mode} curl ${path}`)
          assert.equal(sha(readFileSync(`${out}-whole`)), sha(bytes), `${mode} curl ${path} whole`)
        }
        const used = sendfileStats().transfers - before
        if (mode === 'auto') assert.ok(used >= 4 * 4, `sendfile took ${used} bodies`)
        else assert.equal(used, 0, 'server.sendfile: off sends nothing by sendfile')
        // Whole files: 4 GETs each of big and mid (node: 1, curl: 1; twice over for 200s), bytes as sent.
        const counted = (await metricBytes(s.url, 'files', 200)) - bytesBefore
        assert.equal(counted, 2 * (big.length + mid.length), `${mode}: body bytes in /metrics`)
      } finally {
        await s.close()
      }
    }
    assert.deepEqual(seen.auto, seen.off)
  })

  test('keep-alive goes on after a sendfile body, pipelined requests included', async () => {
    const s = await server('auto')
    const c = new Conn(s.hostPort)
    try {
      const before = sendfileStats().transfers
      c.send('/big.bin')
      let r = await c.response()
      assert.equal(r.status, 200)
      assert.equal(sha(r.body), sha(big))
      c.send('/small.txt')
      r = await c.response()
      assert.equal(r.body.toString(), 'small\n')
      c.send(['/big.bin', { Range: 'bytes=1-5000000' }])
      r = await c.response()
      assert.equal(r.status, 206)
      assert.equal(sha(r.body), sha(big.subarray(1, 5000001)))
      c.send(blobPath())
      r = await c.response()
      assert.equal(sha(r.body), sha(bigBlob.bytes))
      // Pipelined: the second answer waits for the first body, then follows it.
      c.send('/big.bin', blobPath(), '/small.txt')
      for (const expected of [big, bigBlob.bytes, Buffer.from('small\n')]) {
        r = await c.response()
        assert.equal(r.status, 200)
        assert.equal(sha(r.body), sha(expected))
      }
      assert.ok(sendfileStats().transfers - before >= 4)
      assert.equal(c.closed, false)
    } finally {
      c.close()
      await s.close()
    }
  })

  for (const mode of ['auto', 'off'] as const) {
    test(`${mode}: clients that go away mid-body leak no descriptor; their bytes are counted as sent`, async () => {
      const s = await server(mode)
      try {
        await get(`${s.url}/big.bin`) // starts the engine (its epoll and eventfd stay)
        await idle()
        const base = await steadyFdCount()
        const bytesBefore = await metricBytes(s.url, 'files', 200)
        for (const reset of [false, true]) {
          const c = new Conn(s.hostPort)
          c.send('/big.bin')
          const socket = c.socket
          let got = 0
          await new Promise<void>((resolve) => {
            socket.on('data', (d: Buffer) => {
              got += d.length
              if (got > MiB) resolve()
            })
          })
          socket.pause()
          await sleep(50)
          if (reset) socket.resetAndDestroy()
          else socket.destroy()
        }
        await idle()
        await assertNoLeak(base, 'after the clients went away')
        const counted = (await metricBytes(s.url, 'files', 200)) - bytesBefore
        assert.ok(counted > 2 * MiB && counted < 2 * big.length, `${counted} bytes counted for two cut bodies`)
      } finally {
        await s.close()
      }
    })

    test(`${mode}: slow readers hold up no other request and leak nothing once gone`, async () => {
      const s = await server(mode)
      let slow: Array<ReturnType<typeof slowReader>> = []
      try {
        await get(`${s.url}/big.bin`)
        await idle()
        const base = await steadyFdCount()
        // More slow readers than the engine has threads, each at about 16 KiB/s.
        slow = Array.from({ length: 6 }, (_, i) => slowReader(s.hostPort, i % 2 ? '/big.bin' : blobPath()))
        // Every slow reader has its body under way (by sendfile: six transfers waiting in the engine's epoll).
        const underWay = () => slow.every((r) => r.received() > 0) && (mode === 'off' || sendfileStats().active >= 6)
        for (let i = 0; i < 300 && !underWay(); i++) await sleep(50)
        assert.ok(underWay(), `slow readers under way: ${slow.map((r) => r.received())}, ${sendfileStats().active} transfers`)
        const started = Date.now()
        const [file, blob] = await Promise.all([get(`${s.url}/big.bin`), get(`${s.url}${blobPath()}`)])
        const ms = Date.now() - started
        assert.equal(sha(file.body), sha(big))
        assert.equal(sha(blob.body), sha(bigBlob.bytes))
        // Seconds at most even on a loaded machine; a held-up request would wait on the slow ones (minutes).
        assert.ok(ms < 15_000, `other GETs took ${ms} ms`)
        for (const r of slow) assert.ok(r.received() > 0 && r.received() < big.length, `slow reader got ${r.received()}`)
        for (const r of slow) r.stop()
        await idle()
        await assertNoLeak(base, 'after the slow readers went away')
      } finally {
        for (const r of slow) r.stop()
        await s.close()
      }
    })
  }

  test('a file cut short mid-body cuts the connection; the server serves on', async () => {
    const s = await server('auto')
    const path = join(files, 'shrinking.bin')
    writeFileSync(path, big)
    let c: Conn | undefined
    try {
      await get(`${s.url}/big.bin`)
      await idle()
      const base = await steadyFdCount()
      c = new Conn(s.hostPort)
      c.send('/shrinking.bin')
      c.socket.pause()
      await sleep(200)
      truncateSync(path, 2 * MiB)
      c.socket.resume()
      await assert.rejects(c.response(), /connection closed/)
      assert.ok(c.closed)
      const again = await get(`${s.url}/mid.bin`)
      assert.equal(sha(again.body), sha(mid))
      await idle()
      await assertNoLeak(base, 'after the cut body')
    } finally {
      c?.close()
      await s.close()
      rmSync(path, { force: true })
    }
  })

  test('HTTPS bodies take the JavaScript path, intact', async () => {
    const s = await server('auto', { listen: { https: '127.0.0.1:0' } })
    try {
      const before = sendfileStats().transfers
      const res = await get(`${s.httpsUrl}/big.bin`, { Range: 'bytes=7-' })
      assert.equal(res.status, 206)
      assert.equal(sha(res.body), sha(big.subarray(7)))
      assert.equal(sendfileStats().transfers, before)
      const plain = await get(`${s.url}/big.bin`)
      assert.equal(sha(plain.body), sha(big))
      assert.equal(sendfileStats().transfers, before + 1)
    } finally {
      await s.close()
    }
  })

  test('a reload switches server.sendfile both ways', async () => {
    const file = join(dir, 'outpost.yaml')
    const write = (sendfile: string) =>
      writeFileSync(
        file,
        [
          `data_dir: ${join(dir, 'reload-data')}`,
          // The reload applies log_level to the logger: keep it silent.
          'log_level: silent',
          'listen: { http: "127.0.0.1:0", https: off, push: off, ntp: off }',
          `files: { roots: [${files}] }`,
          `server: { sendfile: ${sendfile} }`,
          '',
        ].join('\n'),
      )
    const load = () => loadConfig({ file, env: {}, noDefaultFile: true })
    write('auto')
    const running = await startServer(load().config, silentLogger())
    const url = running.listeners[0]!.url
    try {
      const bodies = async () => {
        const before = sendfileStats().transfers
        assert.equal(sha((await get(`${url}/big.bin`)).body), sha(big))
        return sendfileStats().transfers - before
      }
      assert.equal(await bodies(), 1)
      write('off')
      assert.deepEqual(await running.reload(load), { applied: true, changed: ['server.sendfile'] })
      assert.equal(bodyPath().sendfile, false)
      assert.equal(await bodies(), 0)
      write('auto')
      assert.deepEqual(await running.reload(load), { applied: true, changed: ['server.sendfile'] })
      assert.equal(await bodies(), 1)
    } finally {
      await running.close(1000)
    }
  })
})

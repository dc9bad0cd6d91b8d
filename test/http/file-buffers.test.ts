/**
 * Small files read for one response go out of reused buffers (src/repos/body-buffers.ts).
 * A buffer must not be reused while the socket may still be writing it: here nothing is
 * cached, clients that stop reading keep their writes pending while others ask for other
 * files at the same time, some clients go away mid-body, and every body that arrives must
 * be exactly its file, on the direct path and through the app alike.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, get, Agent, type Server, type IncomingMessage } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Hono } from 'hono'
import { getRequestListener } from '@hono/node-server'
import { tempDir } from '../helpers/server.js'
import { FileCache, fileRoutes } from '../../src/repos/index.js'
import { setDirectRoute } from '../../src/http/index.js'
import { requestHandler } from '../../src/server/listen.js'
import { Metrics, silentLogger } from '../../src/server/index.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

let dir: string
const sums = new Map<string, string>()
const servers: Server[] = []
let cache: FileCache
let direct: number
let viaApp: number

before(async () => {
  dir = tempDir('outpost-buffers-')
  mkdirSync(join(dir, 'f'))
  for (let i = 0; i < 40; i++) {
    // Sizes across every class, up to the largest small body (256 KiB).
    const size = i === 0 ? 256 * 1024 : 1 + ((i * 7919 * 37) % (256 * 1024))
    const bytes = randomBytes(size)
    writeFileSync(join(dir, 'f', `${i}.bin`), bytes)
    sums.set(`/f/${i}.bin`, sha(bytes))
  }
  // Nothing is cached: every body is read for its response.
  cache = new FileCache({ maxBodyBytes: 0 })
  const files = fileRoutes({ roots: [{ prefix: '/', path: dir }], symlinks: 'inside', logger: silentLogger(), cache })
  const app = new Hono()
  app.route('/', files.router)
  setDirectRoute(app, files.direct)
  const listen = async (server: Server) => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    servers.push(server)
    return (server.address() as AddressInfo).port
  }
  direct = await listen(createServer(requestHandler(app, { logger: silentLogger(), metrics: new Metrics({ processMetrics: false }) })))
  viaApp = await listen(createServer(getRequestListener(app.fetch)))
})

after(async () => {
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
  cache.close()
  rmSync(dir, { recursive: true, force: true })
})

const fetchBody = (port: number, path: string, opts: { agent?: Agent; stallMs?: number; abortAfterFirstChunk?: boolean } = {}) =>
  new Promise<Buffer | null>((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: opts.agent ?? false }, (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      if (opts.stallMs) {
        res.pause()
        setTimeout(() => res.resume(), opts.stallMs)
      }
      res.on('data', (c: Buffer) => {
        chunks.push(c)
        if (opts.abortAfterFirstChunk) {
          req.destroy()
          resolve(null)
        }
      })
      res.on('end', () => resolve(Buffer.concat(chunks)))
      res.on('error', () => resolve(null))
    })
    req.on('error', (err) => (opts.abortAfterFirstChunk ? resolve(null) : reject(err)))
  })

/**
 * One connection, `paths` pipelined in one write, the socket left unread for `stallMs`: the
 * kernel takes only part of the answers, the rest wait in the server. Returns each body.
 */
const pipelined = (port: number, paths: string[], stallMs: number) =>
  new Promise<Array<[string, Buffer]>>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const out: Array<[string, Buffer]> = []
    let pending: Buffer = Buffer.alloc(0)
    socket.on('connect', () => {
      socket.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join(''))
      socket.pause()
      setTimeout(() => socket.resume(), stallMs)
    })
    socket.on('data', (c: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, c]) : c
      for (;;) {
        const head = pending.indexOf('\r\n\r\n')
        if (head < 0) return
        const length = Number(/content-length: *(\d+)/i.exec(pending.subarray(0, head).toString('latin1'))?.[1])
        if (pending.length < head + 4 + length) return
        out.push([paths[out.length]!, Buffer.from(pending.subarray(head + 4, head + 4 + length))])
        pending = pending.subarray(head + 4 + length)
        if (out.length === paths.length) {
          socket.destroy()
          return resolve(out)
        }
      }
    })
    socket.on('error', reject)
  })

for (const [name, port] of [
  ['the direct path', () => direct],
  ['the app', () => viaApp],
] as const) {
  test(`${name}: stalled, aborted and busy clients together, every body exact`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 })
    const paths = [...sums.keys()]
    const jobs: Array<Promise<[string, Buffer | null]>> = []
    for (let round = 0; round < 3; round++) {
      // Stalled readers of the largest bodies: their writes stay pending in the kernel.
      for (let i = 0; i < 8; i++) jobs.push(fetchBody(port(), '/f/0.bin', { stallMs: 150 }).then((b) => ['/f/0.bin', b]))
      for (let i = 0; i < 6; i++) {
        const p = paths[(round * 6 + i) % paths.length]!
        jobs.push(fetchBody(port(), p, { abortAfterFirstChunk: true }).then((b) => [p, b]))
      }
      // Meanwhile, many requests for every other file.
      for (let i = 0; i < 120; i++) {
        const p = paths[(i * 13 + round) % paths.length]!
        jobs.push(fetchBody(port(), p, { agent }).then((b) => [p, b]))
      }
    }
    // Stalled connections with many answers pending at once.
    const stalled = Array.from({ length: 4 }, (_, i) =>
      pipelined(
        port(),
        Array.from({ length: 64 }, (_, j) => paths[(i + j * 3) % paths.length]!),
        200,
      ),
    )
    const results = [...(await Promise.all(jobs)), ...(await Promise.all(stalled)).flat()]
    agent.destroy()
    let checked = 0
    for (const [p, body] of results) {
      if (body === null) continue
      assert.equal(sha(body), sums.get(p), `${p}: ${body.length} bytes`)
      checked++
    }
    assert.ok(checked >= 3 * 128 + 256, `${checked} bodies checked`)
  })
}

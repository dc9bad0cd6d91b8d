/**
 * The sendfile addon (native/sendfile) on its own, over loopback TCP: ranges
 * sent exactly, a file that ends early, a peer that resets, cancel, and that
 * every descriptor it duplicates is closed again. `npm ci` builds the addon:
 * when it does not load, these fail (they never skip).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { constants } from 'node:os'
import { join } from 'node:path'
import { tempDir } from '../helpers/server.js'

interface Engine {
  init(onDone: (id: number, sent: number, error: number) => void, threads: number): void
  send(socketFd: number, fileFd: number, offset: number, length: number): number
  cancel(id: number): number
  progress(id: number): number
  stats(): { threads: number; active: number }
}

const loadEngine = (): Engine => {
  try {
    return createRequire(import.meta.url)('outpost-sendfile') as Engine
  } catch (err) {
    assert.fail(
      `the outpost-sendfile addon does not load (npm ci builds it; see native/sendfile/build-error.log): ${(err as Error).message}`,
    )
  }
}

const engine = loadEngine()
const outcomes = new Map<number, (o: { sent: number; error: number }) => void>()
const outcomeOf = (id: number): Promise<{ sent: number; error: number }> => new Promise((resolve) => outcomes.set(id, resolve))
const fdCount = (): number => readdirSync('/proc/self/fd').length
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Waits (up to 10 s: the machine may be loaded) until the engine has sent part of each transfer. */
const underWay = async (ids: number[], total: number): Promise<void> => {
  const partly = () => ids.every((id) => engine.progress(id) > 0 && engine.progress(id) < total)
  for (let i = 0; i < 200 && !partly(); i++) await sleep(50)
}
/** The descriptor count once closes in flight have landed (up to 5 s). */
const fdCountBackTo = async (base: number): Promise<number> => {
  for (let i = 0; i < 100 && fdCount() !== base; i++) await sleep(50)
  return fdCount()
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

let dir: string
let server: Server
let port: number
let data: Buffer
let path: string
const accepted: Socket[] = []

/** A connected pair: the server side (whose fd the engine writes to) and the client side. */
const pair = async (): Promise<{ server: Socket; client: Socket }> => {
  const client = connect(port, '127.0.0.1')
  const [srv] = await Promise.all([
    new Promise<Socket>((resolve) => server.once('connection', resolve)),
    new Promise((resolve) => client.once('connect', resolve)),
  ])
  return { server: srv, client }
}
const fdOf = (s: Socket): number => (s as unknown as { _handle: { fd: number } })._handle.fd
const readAll = (s: Socket): Promise<Buffer> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = []
    s.on('data', (d) => chunks.push(d))
    s.on('close', () => resolve(Buffer.concat(chunks)))
    s.on('error', () => {})
  })

before(async () => {
  engine.init((id, sent, error) => outcomes.get(id)?.({ sent, error }), 2)
  dir = tempDir('outpost-sendfile-')
  data = randomBytes(6 * 1024 * 1024 + 123)
  path = join(dir, 'data')
  writeFileSync(path, data)
  server = createServer((s) => {
    // A peer's reset reaches this side too (the reset test): nothing to handle.
    s.on('error', () => {})
    accepted.push(s)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
})

after(() => {
  for (const s of accepted) s.destroy()
  server.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a second init is refused; bad descriptors throw without a transfer', () => {
  assert.throws(() => engine.init(() => {}, 1), /running already/)
  assert.throws(() => engine.send(-1, 0, 0, 1), /socketFd/)
  const fd = openSync(path, 'r')
  closeSync(fd)
  assert.throws(() => engine.send(fd, fd, 0, 1), /dup socket/)
  assert.equal(engine.stats().active, 0)
  assert.equal(engine.cancel(12345678), -1)
  assert.equal(engine.progress(12345678), -1)
})

test('sends exactly the range asked, then closes what it duplicated', async () => {
  const base = fdCount()
  for (const [offset, length] of [
    [0, data.length],
    [1, 1],
    [4096 * 3 + 7, 5 * 1024 * 1024],
    [data.length - 10, 10],
  ]) {
    const { server: srv, client } = await pair()
    const got = readAll(client)
    const fd = openSync(path, 'r')
    const id = engine.send(fdOf(srv), fd, offset, length)
    // The engine has its own duplicate: the caller's may close at once.
    closeSync(fd)
    const outcome = await outcomeOf(id)
    assert.deepEqual(outcome, { sent: length, error: 0 })
    srv.end()
    const body = await got
    assert.equal(body.length, length)
    assert.equal(sha(body), sha(data.subarray(offset, offset + length)))
  }
  assert.equal(engine.stats().active, 0)
  assert.equal(await fdCountBackTo(base), base)
})

test('a file that ends before the range did is reported with what was sent', async () => {
  const { server: srv, client } = await pair()
  const got = readAll(client)
  const fd = openSync(path, 'r')
  const id = engine.send(fdOf(srv), fd, data.length - 1000, 5000)
  closeSync(fd)
  assert.deepEqual(await outcomeOf(id), { sent: 1000, error: -1 })
  srv.destroy()
  assert.equal((await got).length, 1000)
})

test('a slow reader holds no thread: other transfers finish while it waits', async () => {
  const base = fdCount()
  // More stalled transfers than the engine has threads.
  const stalled = []
  for (let i = 0; i < 6; i++) stalled.push(await pair())
  const fd = openSync(path, 'r')
  const ids = stalled.map(({ server: srv, client }) => {
    client.pause()
    return engine.send(fdOf(srv), fd, 0, data.length)
  })
  // Each fills its socket's buffers and waits for EPOLLOUT.
  await underWay(ids, data.length)
  for (const id of ids) {
    const p = engine.progress(id)
    assert.ok(p > 0 && p < data.length, `progress ${p}`)
  }
  const { server: srv, client } = await pair()
  const got = readAll(client)
  const id = engine.send(fdOf(srv), fd, 0, data.length)
  assert.deepEqual(await outcomeOf(id), { sent: data.length, error: 0 })
  srv.end()
  assert.equal(sha(await got), sha(data))
  // Cancelled: each duplicate goes at once, and no outcome follows.
  for (const [i, id] of ids.entries()) {
    const sent = engine.cancel(id)
    assert.ok(sent > 0 && sent < data.length, `cancel gave ${sent}`)
    outcomes.set(id, () => assert.fail(`an outcome after cancel for ${i}`))
  }
  closeSync(fd)
  assert.equal(engine.stats().active, 0)
  for (const { server: s, client: c } of stalled) {
    s.destroy()
    c.destroy()
  }
  assert.equal(await fdCountBackTo(base), base)
})

test('the socket closed by Node mid-transfer: the duplicate keeps no stale descriptor, cancel frees it', async () => {
  const base = fdCount()
  const { server: srv, client } = await pair()
  client.pause()
  const fd = openSync(path, 'r')
  const id = engine.send(fdOf(srv), fd, 0, data.length)
  closeSync(fd)
  await underWay([id], data.length)
  srv.destroy()
  await sleep(50)
  // The engine's duplicate still holds the connection (and its number is its own).
  assert.ok(engine.progress(id) > 0)
  assert.ok(engine.cancel(id) > 0)
  const got = readAll(client)
  client.resume()
  assert.ok((await got).length < data.length)
  assert.equal(await fdCountBackTo(base), base)
})

test('a peer that resets ends the transfer with ECONNRESET or EPIPE', async () => {
  const { server: srv, client } = await pair()
  client.pause()
  const fd = openSync(path, 'r')
  const id = engine.send(fdOf(srv), fd, 0, data.length)
  closeSync(fd)
  const outcome = outcomeOf(id)
  await underWay([id], data.length)
  client.resetAndDestroy()
  const { sent, error } = await outcome
  assert.ok([constants.errno.ECONNRESET, constants.errno.EPIPE].includes(error), `error ${error}`)
  assert.ok(sent > 0 && sent < data.length)
  srv.destroy()
})

test('many transfers, half cancelled at random moments: every other one completes intact, nothing leaks', async () => {
  const base = fdCount()
  const fd = openSync(path, 'r')
  const runs = []
  for (let i = 0; i < 40; i++) {
    const { server: srv, client } = await pair()
    const got = readAll(client)
    const length = 256 * 1024 + i * 65536
    const id = engine.send(fdOf(srv), fd, i, length)
    const settled = outcomeOf(id)
    if (i % 2) {
      runs.push(
        (async () => {
          await new Promise((r) => setTimeout(r, Math.random() * 20))
          const sent = engine.cancel(id)
          // -1: it had ended; its outcome came (or comes) through onDone.
          if (sent < 0) assert.equal((await settled).error, 0)
          srv.destroy()
          await got
        })(),
      )
    } else {
      runs.push(
        (async () => {
          assert.deepEqual(await settled, { sent: length, error: 0 })
          srv.end()
          assert.equal(sha(await got), sha(data.subarray(i, i + length)))
        })(),
      )
    }
  }
  await Promise.all(runs)
  closeSync(fd)
  assert.equal(engine.stats().active, 0)
  assert.equal(await fdCountBackTo(base), base)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import {
  CHUNK_SIZE,
  SMALL_BODY_LIMIT,
  requestHeader,
  sendRepresentation,
  type Exchange,
  type OpenedFile,
  type Representation,
  type RepresentationAnswers,
} from '../../src/http/index.js'

const LAST_MODIFIED = 'Mon, 01 Jan 2024 00:00:00 GMT'
const MTIME = Date.parse(LAST_MODIFIED) + 500
const ETAG = '"v1"'

const bytesOf = (size: number): Buffer => {
  const b = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) b[i] = i % 251
  return b
}

/** A Node response that records what the sender and the large-body writer do to it. */
class FakeResponse extends EventEmitter {
  status: number | undefined
  headers: OutgoingHttpHeaders | undefined
  chunks: Buffer[] = []
  destroyed = false
  #ended!: () => void
  readonly ended = new Promise<void>((resolve) => (this.#ended = resolve))

  writeHead(status: number, headers: OutgoingHttpHeaders): this {
    assert.equal(this.status, undefined, 'one head per response')
    this.status = status
    this.headers = { ...headers }
    return this
  }

  write(chunk: Buffer, done: () => void): boolean {
    // Copied: the writer reuses the buffer once the callback has run.
    this.chunks.push(Buffer.from(chunk))
    queueMicrotask(done)
    return true
  }

  end(chunk?: Buffer): this {
    if (chunk) this.chunks.push(Buffer.from(chunk))
    this.#ended()
    return this
  }

  destroy(): this {
    this.destroyed = true
    this.#ended()
    return this
  }
}

interface FakeFile {
  file: OpenedFile
  closed: () => number
  /** Resolves on the first close. */
  closing: Promise<void>
}

const fakeFile = (data: Buffer): FakeFile => {
  let closed = 0
  let onClose!: () => void
  const closing = new Promise<void>((resolve) => (onClose = resolve))
  return {
    file: {
      size: data.length,
      mtimeMs: MTIME,
      handle: {
        read: async (buffer, offset, length, position) => ({ bytesRead: data.copy(buffer, offset, position, position + length) }),
        close: async () => {
          closed++
          onClose()
        },
      },
    },
    closed: () => closed,
    closing,
  }
}

const exchange = (method: string, headers: IncomingHttpHeaders, outgoing?: FakeResponse): Exchange => ({
  req: {
    method,
    header: () => assert.fail('the Node request headers are read when there is one'),
  },
  env: { incoming: { headers }, outgoing: outgoing as unknown as ServerResponse | undefined },
})

/** As under `app.request()`: no Node request or response. */
const bareExchange = (method: string, headers: Record<string, string>): Exchange => ({
  req: { method, header: (name) => headers[name] },
})

interface Seen {
  bodies: number[]
}

const answersFor = (seen: Seen): RepresentationAnswers<Representation> => ({
  notModified: (rep) => new Response(null, { status: 304, headers: { ETag: rep.etag, 'Last-Modified': rep.headers['Last-Modified']! } }),
  preconditionFailed: () => new Response('412 Precondition Failed\n', { status: 412 }),
  rangeNotSatisfiable: (_rep, _range, size) => new Response('416\n', { status: 416, headers: { 'Content-Range': `bytes */${size}` } }),
  onBody: (_rep, length) => seen.bodies.push(length),
})

const representation = (body: Buffer | OpenedFile, dated = true): Representation => ({
  etag: ETAG,
  ...(dated ? { lastModified: MTIME } : {}),
  headers: { 'Content-Type': 'application/octet-stream', ETag: ETAG, 'Last-Modified': LAST_MODIFIED, 'Accept-Ranges': 'bytes' },
  body,
})

type BodyKind = 'bytes' | 'small file' | 'large file'
const SIZES: Record<BodyKind, number> = { bytes: 1000, 'small file': 1000, 'large file': 2 * CHUNK_SIZE + 123 }

/** How the answer left: a Response returned, written straight to the socket, or by the large-body writer. */
type Path = 'response' | 'socket' | 'writer'

interface Case {
  name: string
  method?: 'GET' | 'HEAD'
  headers?: IncomingHttpHeaders
  /** The representation has no Last-Modified (a blob). */
  undated?: boolean
  status: number
  /** [start, end] of the body sent; absent: no body. */
  span?: 'all' | [number, number] | ((size: number) => [number, number])
  contentRange?: string | ((size: number) => string)
}

const CASES: Case[] = [
  { name: 'plain GET', status: 200, span: 'all' },
  { name: 'HEAD', method: 'HEAD', status: 200 },
  { name: 'If-None-Match hit', headers: { 'if-none-match': ETAG }, status: 304 },
  { name: 'If-None-Match weak hit', headers: { 'if-none-match': `"x", W/${ETAG}` }, status: 304 },
  { name: 'If-None-Match *', headers: { 'if-none-match': '*' }, status: 304 },
  { name: 'If-None-Match on HEAD', method: 'HEAD', headers: { 'if-none-match': ETAG }, status: 304 },
  {
    name: 'If-None-Match miss wins over If-Modified-Since',
    headers: { 'if-none-match': '"x"', 'if-modified-since': LAST_MODIFIED },
    status: 200,
    span: 'all',
  },
  { name: 'If-Modified-Since same second', headers: { 'if-modified-since': LAST_MODIFIED }, status: 304 },
  { name: 'If-Modified-Since earlier', headers: { 'if-modified-since': 'Sun, 31 Dec 2023 23:59:59 GMT' }, status: 200, span: 'all' },
  {
    name: 'If-Modified-Since without Last-Modified',
    undated: true,
    headers: { 'if-modified-since': LAST_MODIFIED },
    status: 200,
    span: 'all',
  },
  { name: 'If-Match miss', headers: { 'if-match': '"x"' }, status: 412 },
  { name: 'If-Match weak', headers: { 'if-match': `W/${ETAG}` }, status: 412 },
  { name: 'If-Match hit', headers: { 'if-match': ETAG }, status: 200, span: 'all' },
  { name: 'If-Match miss on HEAD', method: 'HEAD', headers: { 'if-match': '"x"' }, status: 412 },
  { name: 'If-Unmodified-Since earlier', headers: { 'if-unmodified-since': 'Sun, 31 Dec 2023 00:00:00 GMT' }, status: 412 },
  { name: 'If-Unmodified-Since later', headers: { 'if-unmodified-since': 'Tue, 02 Jan 2024 00:00:00 GMT' }, status: 200, span: 'all' },
  {
    name: 'If-Unmodified-Since without Last-Modified',
    undated: true,
    headers: { 'if-unmodified-since': 'Sun, 31 Dec 2023 00:00:00 GMT' },
    status: 200,
    span: 'all',
  },
  { name: 'bounded range', headers: { range: 'bytes=0-9' }, status: 206, span: [0, 9], contentRange: (s) => `bytes 0-9/${s}` },
  {
    name: 'range past the end is cut',
    headers: { range: 'bytes=990-99999999' },
    status: 206,
    span: (s) => [990, s - 1],
    contentRange: (s) => `bytes 990-${s - 1}/${s}`,
  },
  {
    name: 'suffix range',
    headers: { range: 'bytes=-5' },
    status: 206,
    span: (s) => [s - 5, s - 1],
    contentRange: (s) => `bytes ${s - 5}-${s - 1}/${s}`,
  },
  {
    name: 'open-ended range',
    headers: { range: 'bytes=100-' },
    status: 206,
    span: (s) => [100, s - 1],
    contentRange: (s) => `bytes 100-${s - 1}/${s}`,
  },
  { name: 'range on HEAD', method: 'HEAD', headers: { range: 'bytes=0-9' }, status: 206, contentRange: (s) => `bytes 0-9/${s}` },
  { name: 'unsatisfiable range', headers: { range: 'bytes=99999999-' }, status: 416, contentRange: (s) => `bytes */${s}` },
  { name: 'zero suffix', headers: { range: 'bytes=-0' }, status: 416, contentRange: (s) => `bytes */${s}` },
  {
    name: 'unsatisfiable range on HEAD',
    method: 'HEAD',
    headers: { range: 'bytes=99999999-' },
    status: 416,
    contentRange: (s) => `bytes */${s}`,
  },
  { name: 'two ranges: the whole', headers: { range: 'bytes=0-1,5-6' }, status: 200, span: 'all' },
  { name: 'not bytes: the whole', headers: { range: 'items=0-1' }, status: 200, span: 'all' },
  {
    name: 'If-Range tag hit',
    headers: { range: 'bytes=0-9', 'if-range': ETAG },
    status: 206,
    span: [0, 9],
    contentRange: (s) => `bytes 0-9/${s}`,
  },
  { name: 'If-Range stale tag', headers: { range: 'bytes=0-9', 'if-range': '"old"' }, status: 200, span: 'all' },
  { name: 'If-Range weak tag', headers: { range: 'bytes=0-9', 'if-range': `W/${ETAG}` }, status: 200, span: 'all' },
  {
    name: 'If-Range date hit',
    headers: { range: 'bytes=0-9', 'if-range': LAST_MODIFIED },
    status: 206,
    span: [0, 9],
    contentRange: (s) => `bytes 0-9/${s}`,
  },
  { name: 'If-Range other date', headers: { range: 'bytes=0-9', 'if-range': 'Thu, 01 Jan 1970 00:00:00 GMT' }, status: 200, span: 'all' },
  {
    name: 'If-Range date without Last-Modified',
    undated: true,
    headers: { range: 'bytes=0-9', 'if-range': LAST_MODIFIED },
    status: 200,
    span: 'all',
  },
  {
    name: 'If-Range stale tag with an unsatisfiable range',
    headers: { range: 'bytes=99999999-', 'if-range': '"old"' },
    status: 200,
    span: 'all',
  },
  { name: 'preconditions before the range', headers: { range: 'bytes=99999999-', 'if-none-match': ETAG }, status: 304 },
]

const expectedPath = (kind: BodyKind, c: Case, length: number): Path => {
  if (c.method === 'HEAD' || c.span === undefined) return 'response'
  if (kind === 'bytes') return 'socket'
  return length <= SMALL_BODY_LIMIT ? 'response' : 'writer'
}

for (const kind of ['bytes', 'small file', 'large file'] as const) {
  test(`conditions, ranges and HEAD: ${kind}`, async (t) => {
    const size = SIZES[kind]
    const data = bytesOf(size)
    for (const c of CASES) {
      await t.test(c.name, async () => {
        const fake = kind === 'bytes' ? undefined : fakeFile(data)
        const rep = representation(fake ? fake.file : data, !c.undated)
        const res = new FakeResponse()
        const seen: Seen = { bodies: [] }
        const answer = await sendRepresentation(exchange(c.method ?? 'GET', c.headers ?? {}, res), rep, answersFor(seen))

        const span = typeof c.span === 'function' ? c.span(size) : c.span === 'all' ? ([0, size - 1] as [number, number]) : c.span
        const length = span ? span[1] - span[0] + 1 : 0
        const path = expectedPath(kind, c, length)
        const contentRange = typeof c.contentRange === 'function' ? c.contentRange(size) : c.contentRange

        let status: number
        let headers: Record<string, string | undefined>
        let body: Buffer
        if (path === 'response') {
          assert.notEqual(answer, RESPONSE_ALREADY_SENT)
          assert.equal(res.status, undefined, 'nothing written to the socket')
          status = answer.status
          headers = Object.fromEntries(answer.headers)
          body = Buffer.from(await answer.arrayBuffer())
          if (c.method === 'HEAD' && c.status < 300) assert.equal(answer.body, null, 'HEAD: no body')
        } else {
          assert.equal(answer, RESPONSE_ALREADY_SENT)
          await res.ended
          assert.equal(res.destroyed, false)
          status = res.status!
          headers = Object.fromEntries(Object.entries(res.headers!).map(([k, v]) => [k.toLowerCase(), String(v)]))
          body = Buffer.concat(res.chunks)
          if (path === 'writer') assert.ok(res.chunks.length > 1, 'written in chunks')
          else assert.equal(res.chunks.length, 1, 'written in one go')
        }

        assert.equal(status, c.status)
        assert.equal(headers['content-range'], contentRange)
        if (c.status === 200 || c.status === 206) {
          const sentLength =
            c.status === 206
              ? contentRange
                ? Number(/-(\d+)\//.exec(contentRange)![1]) - Number(/ (\d+)-/.exec(contentRange)![1]) + 1
                : 0
              : size
          assert.equal(headers['content-length'], String(sentLength))
          assert.equal(headers['etag'], ETAG)
          assert.equal(headers['last-modified'], LAST_MODIFIED)
          assert.equal(headers['content-type'], 'application/octet-stream')
        }
        if (c.status === 304) {
          assert.equal(headers['etag'], ETAG)
          assert.equal(headers['content-length'], undefined)
        }
        const refusal = c.status === 412 ? '412 Precondition Failed\n' : c.status === 416 ? '416\n' : ''
        assert.deepEqual(body, span ? data.subarray(span[0], span[1] + 1) : Buffer.from(refusal), "the body, or the answer's own")
        assert.deepEqual(seen.bodies, span ? [length] : [], 'onBody once per body sent, never on HEAD')

        if (fake) {
          // The writer closes once the last chunk is out; every other path before answering.
          if (path === 'writer') await Promise.race([fake.closing, delay(2000)])
          assert.equal(fake.closed(), 1, 'the file is closed once')
        }
      })
    }
  })
}

test('without a Node response (app.request): headers from Hono, bodies as a Response', async () => {
  for (const kind of ['bytes', 'large file'] as const) {
    const data = bytesOf(SIZES[kind])
    const fake = kind === 'bytes' ? undefined : fakeFile(data)
    const seen: Seen = { bodies: [] }
    const rep = representation(fake ? fake.file : data)
    const answer = await sendRepresentation(bareExchange('GET', { range: 'bytes=1-', 'if-range': ETAG }), rep, answersFor(seen))
    assert.notEqual(answer, RESPONSE_ALREADY_SENT, kind)
    assert.equal(answer.status, 206)
    assert.equal(answer.headers.get('content-range'), `bytes 1-${data.length - 1}/${data.length}`)
    assert.deepEqual(Buffer.from(await answer.arrayBuffer()), data.subarray(1))
    assert.deepEqual(seen.bodies, [data.length - 1])
    if (fake) assert.equal(fake.closed(), 1)
    const notModified = await sendRepresentation(
      bareExchange('GET', { 'if-none-match': ETAG }),
      representation(fake ? fake.file : data),
      answersFor(seen),
    )
    assert.equal(notModified.status, 304)
  }
})

test('an answer that throws still closes the file; an empty body is sent empty', async () => {
  const fake = fakeFile(bytesOf(10))
  const answers: RepresentationAnswers<Representation> = {
    ...answersFor({ bodies: [] }),
    rangeNotSatisfiable: (_rep, range, size) => {
      throw new Error(`refused ${range} of ${size}`)
    },
  }
  await assert.rejects(
    sendRepresentation(exchange('GET', { range: 'bytes=10-' }, new FakeResponse()), representation(fake.file), answers),
    /refused bytes=10- of 10/,
  )
  assert.equal(fake.closed(), 1)

  const empty = fakeFile(Buffer.alloc(0))
  const answer = await sendRepresentation(exchange('GET', {}, new FakeResponse()), representation(empty.file), answers)
  assert.equal(answer.status, 200)
  assert.equal(answer.headers.get('content-length'), '0')
  assert.equal((await answer.arrayBuffer()).byteLength, 0)
  assert.equal(empty.closed(), 1)
  const emptyRange = await sendRepresentation(
    exchange('GET', { range: 'bytes=-1' }, new FakeResponse()),
    representation(Buffer.alloc(0)),
    answersFor({ bodies: [] }),
  )
  assert.equal(emptyRange.status, 416)
  assert.equal(emptyRange.headers.get('content-range'), 'bytes */0')
})

test('request headers: repeated ones joined, Hono asked only without a Node request', () => {
  const c = bareExchange('GET', { range: 'bytes=0-1' })
  assert.equal(requestHeader(undefined, c, 'range'), 'bytes=0-1')
  assert.equal(requestHeader({ 'x-twice': ['a', 'b'] } as IncomingHttpHeaders, c, 'x-twice'), 'a, b')
  assert.equal(requestHeader({}, c, 'range'), undefined)
})

test('ranges: false sends the whole representation whatever Range asks (manifests)', async () => {
  const data = bytesOf(SIZES.bytes)
  const seen: Seen = { bodies: [] }
  const whole = { ...representation(data), ranges: false }
  const answer = await sendRepresentation(bareExchange('GET', { range: 'bytes=1-9' }), whole, answersFor(seen))
  assert.equal(answer.status, 200)
  assert.equal(answer.headers.get('content-range'), null)
  assert.deepEqual(Buffer.from(await answer.arrayBuffer()), data)
  const unsatisfiable = await sendRepresentation(
    bareExchange('GET', { range: 'bytes=99999-' }),
    { ...representation(data), ranges: false },
    answersFor(seen),
  )
  assert.equal(unsatisfiable.status, 200, 'no 416 where ranges do not apply')
  const head = await sendRepresentation(
    bareExchange('HEAD', { range: 'bytes=1-9' }),
    { ...representation(data), ranges: false },
    answersFor(seen),
  )
  assert.equal(head.status, 200)
  assert.equal(head.headers.get('content-length'), String(data.length))
  assert.deepEqual(seen.bodies, [data.length, data.length])
})

/** Error replies outside the registry: one HttpError, rendered as text or JSON by one handler. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { errorReply, HttpError, textReply } from '../../src/http/reply.js'

const app = new Hono()
app.get('/file', () => {
  throw new HttpError(404, 'Outpost has no CA yet')
})
app.get('/api', () => {
  throw new HttpError(400, 'invalid check-in: hostname is required', { json: true, details: { issues: [{ path: 'hostname' }] } })
})
app.get('/allow', () => {
  throw new HttpError(405, undefined, { headers: { Allow: 'GET, HEAD' } })
})
app.get('/hono', () => {
  throw new HTTPException(413)
})
app.onError((err, c) => (err instanceof HTTPException ? errorReply(c, err) : c.text('unexpected', 500)))

const get = async (path: string, headers: Record<string, string> = {}) => {
  const res = await app.request(path, { headers })
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), headers: res.headers }
}

test('text by default: one line, status first', async () => {
  const r = await get('/file')
  assert.equal(r.status, 404)
  assert.equal(r.type, 'text/plain; charset=utf-8')
  assert.equal(r.body, '404 Outpost has no CA yet\n')
  assert.equal((await get('/file', { 'User-Agent': 'curl/8.5.0', Accept: '*/*' })).body, '404 Outpost has no CA yet\n')
  assert.equal(
    (await get('/file', { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' })).type,
    'text/plain; charset=utf-8',
    'browsers get text',
  )
})

test('JSON when the client asks for it', async () => {
  const r = await get('/file', { Accept: 'application/json' })
  assert.equal(r.status, 404)
  assert.match(r.type, /^application\/json/)
  assert.deepEqual(JSON.parse(r.body), { error: 'Outpost has no CA yet' })
  assert.deepEqual(JSON.parse((await get('/file?format=json')).body), { error: 'Outpost has no CA yet' })
})

test('a JSON endpoint answers programs in JSON and people in text', async () => {
  const programs = await get('/api')
  assert.equal(programs.status, 400)
  assert.deepEqual(JSON.parse(programs.body), { error: 'invalid check-in: hostname is required', issues: [{ path: 'hostname' }] })
  const curl = await get('/api', { 'User-Agent': 'curl/8.5.0', Accept: '*/*' })
  assert.equal(curl.status, 400)
  assert.equal(curl.body, '400 invalid check-in: hostname is required\n')
  assert.equal((await get('/api', { Accept: 'text/plain' })).body, '400 invalid check-in: hostname is required\n')
  assert.match((await get('/api', { 'User-Agent': 'curl/8.5.0', Accept: 'application/json' })).type, /^application\/json/)
})

test('the reason phrase stands in for a message; headers are kept', async () => {
  const r = await get('/allow')
  assert.equal(r.body, '405 Method Not Allowed\n')
  assert.equal(r.headers.get('allow'), 'GET, HEAD')
  assert.deepEqual(JSON.parse((await get('/allow', { Accept: 'application/json' })).body), { error: 'Method Not Allowed' })
  const hono = await get('/hono')
  assert.equal(hono.status, 413)
  assert.match(hono.body, /^413 \S.*\n$/)
  assert.equal(await textReply(416, 'Range Not Satisfiable', { 'Content-Range': 'bytes */3' }).text(), '416 Range Not Satisfiable\n')
})

test('without the app handler, Hono sends the text form', async () => {
  const bare = new Hono()
  bare.get('/', () => {
    throw new HttpError(503, 'catalog not available', { json: true })
  })
  const res = await bare.request('/', { headers: { Accept: 'application/json' } })
  assert.equal(res.status, 503)
  assert.equal(await res.text(), '503 catalog not available\n')
})

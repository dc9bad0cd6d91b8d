/** Who may write through which listener: the decision table of src/registry-api/access.ts. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  decideAccess,
  isWrite,
  needsCredentials,
  parseBasic,
  type AccessRequest,
  type ListenerKind,
} from '../../src/registry-api/access.js'

type Credentials = 'none' | 'empty' | 'valid' | 'wrong'
type Expected = 'allow' | 'write' | 'challenge' | 'read-only'

const row = (
  listener: ListenerKind,
  htpasswd: boolean,
  method: string,
  path: string,
  credentials: Credentials,
  expected: Expected,
  pushOnLoopback = true,
) => ({
  listener,
  htpasswd,
  method,
  path,
  credentials,
  expected,
  pushOnLoopback,
})

const UPLOAD = '/v2/library/app/blobs/uploads/'
const MANIFEST = '/v2/library/app/manifests/1.0'
const BLOB = '/v2/library/app/blobs/sha256:' + 'a'.repeat(64)

const TABLE = [
  // The push listener on loopback: everything, no credentials, whatever is sent.
  ...(['none', 'empty', 'wrong'] as const).flatMap((cred) =>
    [false, true].flatMap((htpasswd) => [
      row('push', htpasswd, 'GET', '/v2/', cred, 'allow'),
      row('push', htpasswd, 'POST', UPLOAD, cred, 'write'),
      row('push', htpasswd, 'PATCH', `${UPLOAD}some-id`, cred, 'write'),
      row('push', htpasswd, 'PUT', MANIFEST, cred, 'write'),
      row('push', htpasswd, 'DELETE', BLOB, cred, 'write'),
      row('push', htpasswd, 'HEAD', BLOB, cred, 'allow'),
    ]),
  ),
  // HTTP and HTTPS without htpasswd: reads for all, writes refused as unsupported, even with credentials.
  ...(['http', 'https'] as const).flatMap((l) => [
    row(l, false, 'GET', '/v2/', 'none', 'allow'),
    row(l, false, 'GET', '/v2', 'none', 'allow'),
    row(l, false, 'GET', MANIFEST, 'wrong', 'allow'),
    row(l, false, 'POST', UPLOAD, 'none', 'read-only'),
    row(l, false, 'PUT', MANIFEST, 'valid', 'read-only'),
    row(l, false, 'DELETE', MANIFEST, 'none', 'read-only'),
    row(l, false, 'PATCH', `${UPLOAD}x`, 'none', 'read-only'),
  ]),
  // HTTP and HTTPS with htpasswd: the base challenges only a request without Authorization; reads pass; writes need valid credentials.
  ...(['http', 'https'] as const).flatMap((l) => [
    row(l, true, 'GET', '/v2/', 'none', 'challenge'),
    row(l, true, 'HEAD', '/v2/', 'none', 'challenge'),
    row(l, true, 'GET', '/v2', 'none', 'challenge'),
    row(l, true, 'GET', '/v2/', 'empty', 'allow'),
    row(l, true, 'GET', '/v2/', 'wrong', 'allow'),
    row(l, true, 'GET', '/v2/', 'valid', 'allow'),
    row(l, true, 'GET', '/v2/_catalog', 'none', 'allow'),
    row(l, true, 'GET', MANIFEST, 'none', 'allow'),
    row(l, true, 'HEAD', BLOB, 'wrong', 'allow'),
    row(l, true, 'GET', BLOB, 'empty', 'allow'),
    row(l, true, 'POST', UPLOAD, 'none', 'challenge'),
    row(l, true, 'POST', UPLOAD, 'empty', 'challenge'),
    row(l, true, 'POST', UPLOAD, 'wrong', 'challenge'),
    row(l, true, 'POST', UPLOAD, 'valid', 'write'),
    row(l, true, 'PUT', MANIFEST, 'valid', 'write'),
    row(l, true, 'PATCH', `${UPLOAD}x`, 'valid', 'write'),
    row(l, true, 'DELETE', BLOB, 'wrong', 'challenge'),
    row(l, true, 'DELETE', BLOB, 'valid', 'write'),
  ]),
  // A push listener elsewhere than loopback (it starts only with htpasswd) asks like the others.
  row('push', true, 'GET', '/v2/', 'none', 'challenge', false),
  row('push', true, 'GET', MANIFEST, 'none', 'allow', false),
  row('push', true, 'PUT', MANIFEST, 'none', 'challenge', false),
  row('push', true, 'PUT', MANIFEST, 'wrong', 'challenge', false),
  row('push', true, 'PUT', MANIFEST, 'valid', 'write', false),
]

test('the access decision table', () => {
  for (const r of TABLE) {
    const request: AccessRequest = {
      listener: r.listener,
      pushOnLoopback: r.pushOnLoopback,
      htpasswd: r.htpasswd,
      method: r.method,
      path: r.path,
      authorization: r.credentials !== 'none',
    }
    const decision = decideAccess(request, r.credentials === 'valid')
    const got: Expected = decision.outcome === 'allow' ? (decision.mayWrite ? 'write' : 'allow') : decision.outcome
    const where = `${r.listener}${r.pushOnLoopback ? '' : ' (not loopback)'} htpasswd=${r.htpasswd} ${r.method} ${r.path} credentials=${r.credentials}`
    assert.equal(got, r.expected, where)
    // Credentials are checked (bcrypt) only where they decide something: writes on a listener that asks.
    const checks = needsCredentials(request)
    assert.equal(
      checks,
      r.htpasswd && !(r.listener === 'push' && r.pushOnLoopback) && isWrite(r.method, r.path),
      `needsCredentials: ${where}`,
    )
    if (!checks) assert.deepEqual(decideAccess(request, true), decision, `credentials do not matter: ${where}`)
  }
})

test('writes are POST, PUT, PATCH and DELETE under /v2', () => {
  for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    assert.equal(isWrite(m, '/v2/'), true)
    assert.equal(isWrite(m, '/v2'), true)
    assert.equal(isWrite(m, MANIFEST), true)
    assert.equal(isWrite(m, '/nodes/checkin'), false)
    assert.equal(isWrite(m, '/v2x/a'), false)
  }
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE']) assert.equal(isWrite(m, MANIFEST), false)
})

test('Basic credentials', () => {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
  assert.deepEqual(parseBasic(`Basic ${b64('alice:s3cret')}`), { user: 'alice', password: 's3cret' })
  assert.deepEqual(parseBasic(`basic ${b64('alice:pa:ss')}`), { user: 'alice', password: 'pa:ss' })
  assert.deepEqual(parseBasic('Basic Og=='), { user: '', password: '' })
  assert.deepEqual(parseBasic(`Basic ${b64('jörg:grüße')}`), { user: 'jörg', password: 'grüße' })
  assert.equal(parseBasic(undefined), null)
  assert.equal(parseBasic(''), null)
  assert.equal(parseBasic('Bearer abc.def'), null)
  assert.equal(parseBasic(`Basic ${b64('no-colon')}`), null)
  assert.equal(parseBasic('Basic !!!'), null)
  assert.equal(parseBasic('Basic'), null)
})

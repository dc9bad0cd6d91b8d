import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodePath, encodeSegment, isInside, parseRequestPath, requestPathOf, type PathRefusal } from '../../src/repos/safe-path.js'

const ok = (target: string): { segments: string[]; trailingSlash: boolean } => {
  const r = parseRequestPath(target)
  assert.ok(r.ok, `${target} should be accepted, got ${JSON.stringify(r)}`)
  return { segments: r.segments, trailingSlash: r.trailingSlash }
}

test('decodes each segment once and normalises', () => {
  assert.deepEqual(ok('/'), { segments: [], trailingSlash: true })
  assert.deepEqual(ok('/a/b.txt'), { segments: ['a', 'b.txt'], trailingSlash: false })
  assert.deepEqual(ok('/a//b/./c/'), { segments: ['a', 'b', 'c'], trailingSlash: true })
  assert.deepEqual(ok('/sp%20ace.txt'), { segments: ['sp ace.txt'], trailingSlash: false })
  assert.deepEqual(ok('/100%25.txt'), { segments: ['100%.txt'], trailingSlash: false })
  assert.deepEqual(ok('/hash%23.txt'), { segments: ['hash#.txt'], trailingSlash: false })
  assert.deepEqual(ok('/q%3Fx.txt?a=1'), { segments: ['q?x.txt'], trailingSlash: false })
  assert.deepEqual(ok('/%C3%A9%20%E6%97%A5'), { segments: ['é 日'], trailingSlash: false })
  assert.deepEqual(ok('/.../x'), { segments: ['...', 'x'], trailingSlash: false })
  assert.deepEqual(ok('/..a/a..'), { segments: ['..a', 'a..'], trailingSlash: false })
  assert.deepEqual(ok('/%2e'), { segments: [], trailingSlash: false })
  assert.deepEqual(ok('http://host:8080/a/b?x'), { segments: ['a', 'b'], trailingSlash: false })
  assert.deepEqual(ok('/a%2520b'), { segments: ['a%20b'], trailingSlash: false }, 'decoded once only')
})

const HOSTILE: Array<[string, PathRefusal, 400 | 404]> = [
  ['/../etc/passwd', 'dot-dot', 400],
  ['/a/../../etc/passwd', 'dot-dot', 400],
  ['/a/..', 'dot-dot', 400],
  ['/%2e%2e/x', 'dot-dot', 400],
  ['/%2E%2E/x', 'dot-dot', 400],
  ['/%2e%2E/x', 'dot-dot', 400],
  ['/.%2e/x', 'dot-dot', 400],
  ['/%2e./x', 'dot-dot', 400],
  ['/%252e%252e/x', 'dot-dot', 400],
  ['/%252E%252e/x', 'dot-dot', 400],
  ['/..%252fx', 'dot-dot', 400],
  ['/..%2fx', 'encoded-slash', 400],
  ['/a%2Fb', 'encoded-slash', 400],
  ['/..\\x', 'backslash', 400],
  ['/a%5cb', 'backslash', 400],
  ['/a%5Cb', 'backslash', 400],
  ['/a%00.html', 'nul', 400],
  ['/%00', 'nul', 400],
  ['/a%0ab', 'control', 400],
  ['/a%0d%0aSet-Cookie:x', 'control', 400],
  ['/a%7f', 'control', 400],
  ['/%c0%ae%c0%ae/x', 'bad-encoding', 400],
  ['/%ff', 'bad-encoding', 400],
  ['/%e0%80%ae', 'bad-encoding', 400],
  ['/%uff0e', 'bad-encoding', 400],
  ['/%', 'bad-encoding', 400],
  ['/%2', 'bad-encoding', 400],
  ['/a#frag', 'bad-encoding', 400],
  ['a/b', 'not-absolute', 400],
  ['*', 'not-absolute', 400],
  ['ftp://h/x', 'not-absolute', 400],
  ['/' + 'a/'.repeat(2100), 'too-long', 400],
  ['/' + 'a'.repeat(256), 'segment-too-long', 404],
  ['/' + '%C3%A9'.repeat(128), 'segment-too-long', 404],
]

test('refuses hostile paths, each for its reason', () => {
  for (const [target, reason, status] of HOSTILE) {
    const r = parseRequestPath(target)
    assert.deepEqual(r, { ok: false, status, reason }, target.slice(0, 60))
  }
})

test('request path of origin-form and absolute-form targets', () => {
  assert.equal(requestPathOf('/a?b'), '/a')
  assert.equal(requestPathOf('http://h'), '/')
  assert.equal(requestPathOf('HTTPS://h/x?y'), '/x')
  assert.equal(requestPathOf('h/x'), null)
})

test('encoding round-trips names with reserved and non-ASCII characters', () => {
  for (const name of ['sp ace', '100%', 'a#b', 'q?x', "it's (1) [a]+b=c&d;e,f", 'é ü 日本', '*', '~x']) {
    const enc = encodeSegment(name)
    assert.doesNotMatch(enc, /[ #?/[\]'()*]/, name)
    const parsed = parseRequestPath('/' + enc)
    assert.ok(parsed.ok && parsed.segments[0] === name, name)
  }
  assert.equal(encodePath(['a b', 'c'], true), '/a%20b/c/')
  assert.equal(encodePath([], true), '/')
})

test('isInside does not take a sibling with the same prefix for a child', () => {
  assert.ok(isInside('/srv/root', '/srv/root'))
  assert.ok(isInside('/srv/root', '/srv/root/a'))
  assert.ok(!isInside('/srv/root', '/srv/root-2/a'))
  assert.ok(!isInside('/srv/root', '/srv'))
  assert.ok(isInside('/', '/etc'))
})

test('plain paths (no escape, no backslash, no control) parse as their fully escaped spelling does', () => {
  const alphabet = "abcXYZ019-._~!$&'()*+,;=:@/"
  let seed = 7
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n
  const escapeAll = (p: string) =>
    p
      .split('/')
      .map((s) => [...s].map((ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''))
      .join('/')
  const samples = ['/', '/a', '/a/', '//a//b/', '/./a/.', '/..', '/a/../b', '/...', '/a/' + 'x'.repeat(255), '/a/' + 'x'.repeat(256) + '/b']
  for (let i = 0; i < 2000; i++) samples.push('/' + Array.from({ length: rnd(30) }, () => alphabet[rnd(alphabet.length)]).join(''))
  for (const p of samples) {
    for (const target of [p, `${p}?q=1&r=%zz`]) {
      assert.deepEqual(parseRequestPath(target), parseRequestPath(escapeAll(p)), target)
    }
  }
})

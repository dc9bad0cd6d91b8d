/** htpasswd files as registry:2 reads them, bcrypt only; checks remembered briefly. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Htpasswd, HtpasswdError, parseHtpasswd } from '../../src/registry-api/htpasswd.js'

// Written by `htpasswd -nbB alice s3cret` and `htpasswd -nbB -C 4 bob pw` (apache2-utils).
const ALICE = 'alice:$2y$05$OMbfTqK/sRUeiZF29KOtyO1.QugGuAeFv0m3xofvoQPAsWqo/DGUC'
const BOB = 'bob:$2y$04$X4C.6ZdtUhW3nl09B4c/7e0d1Z3zRxrDenZuHR2NusiedMMhWZes.'
// bcryptjs ($2b$, password pw2) and the same with the $2a$ prefix (password pw3).
const CAROL = 'carol:$2b$04$OgRFm4ogUqDS3xqFUCPi0uGy0ASe7kGGHyj1zzE8wTe2IfeR8Itm6'
const DAVE = 'dave:$2a$04$eMX8eYFIrJu0qCAfJodi0uuUq4GbKhNIhAm194M9YnGUdBZsXiA/e'

const tmp = (t: { after: (fn: () => void) => void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-htpasswd-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const fileWith = (dir: string, ...lines: string[]): string => {
  const file = join(dir, 'htpasswd')
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}

test('parses user:hash lines; blank lines and comments are skipped, CRLF and spaces tolerated', () => {
  const users = parseHtpasswd(['# writers', '', ALICE, `  ${BOB}  \r`, CAROL, DAVE, ''].join('\n'), 'f')
  assert.deepEqual([...users.keys()], ['alice', 'bob', 'carol', 'dave'])
  assert.equal(users.get('bob'), BOB.slice('bob:'.length))
  assert.equal(parseHtpasswd('', 'f').size, 0)
})

test('anything but bcrypt stops with the file, the line and the user, never the hash', () => {
  const cases: Array<[string, RegExp]> = [
    [
      'carol:$apr1$mWmwQC8o$TK6Pe4c1ehTiA5MHvpnIg0',
      /f:3: user "carol": an Apache MD5 \(\$apr1\$\) hash; only bcrypt entries are accepted, as registry:2 does \(make them with htpasswd -B\)/,
    ],
    ['dave:{SHA}EfatjsUqKYSrqv18O1FlA3hcIHI=', /f:3: user "dave": a SHA-1/],
    ['erin:$6$salt$abcdefghijklmnopqrstuvwxyz', /f:3: user "erin": a SHA-crypt/],
    ['frank:$1$salt$abcdefghijklmnopqrstuv', /f:3: user "frank": an MD5-crypt/],
    ['gina:plaintext', /f:3: user "gina": not a bcrypt hash/],
    ['hank:', /f:3: user "hank": an empty hash/],
    ['ivan:$2y$05$short', /f:3: user "ivan": a malformed bcrypt hash/],
    ['jo:$2y$99$OMbfTqK/sRUeiZF29KOtyO1.QugGuAeFv0m3xofvoQPAsWqo/DGUC', /f:3: user "jo": bcrypt cost 99 is outside 4-31/],
    ['no colon here', /f:3: not USER:HASH/],
    [':$2y$05$OMbfTqK/sRUeiZF29KOtyO1.QugGuAeFv0m3xofvoQPAsWqo/DGUC', /f:3: not USER:HASH/],
    [ALICE.replace('alice', 'bob'), /f:3: user "bob" again \(first on line 2\)/],
  ]
  for (const [line, message] of cases) {
    assert.throws(
      () => parseHtpasswd([ALICE, BOB, line].join('\n'), 'f'),
      (e: Error) =>
        e instanceof HtpasswdError && message.test(e.message) && !e.message.includes(line.slice(line.indexOf(':') + 1) || '\u0000'),
      line,
    )
  }
})

test('a missing file is an error naming it', (t) => {
  const dir = tmp(t)
  assert.throws(
    () => Htpasswd.load(join(dir, 'nope')),
    (e: Error) => e instanceof HtpasswdError && e.message.includes(join(dir, 'nope')) && /ENOENT/.test(e.message),
  )
})

test('verifies htpasswd -B ($2y$), $2b$ and $2a$ entries with bcrypt', async (t) => {
  const h = Htpasswd.load(fileWith(tmp(t), ALICE, BOB, CAROL, DAVE))
  assert.equal(h.userCount, 4)
  assert.equal(await h.verify('alice', 's3cret'), true)
  assert.equal(await h.verify('bob', 'pw'), true)
  assert.equal(await h.verify('carol', 'pw2'), true)
  assert.equal(await h.verify('dave', 'pw3'), true)
  assert.equal(await h.verify('alice', 'S3cret'), false)
  assert.equal(await h.verify('alice', ''), false)
  assert.equal(await h.verify('bob', 's3cret'), false)
  assert.equal(await h.verify('mallory', 's3cret'), false)
  assert.equal(await h.verify('', ''), false)
})

/** An Htpasswd whose bcrypt is counted; the clock is moved by hand. */
const counted = (file: string, options: { cacheMs?: number; cacheEntries?: number } = {}) => {
  let now = 1_000_000
  const calls: string[] = []
  const passwords: Record<string, string> = { [ALICE.slice(6)]: 's3cret', [BOB.slice(4)]: 'pw' }
  const h = Htpasswd.load(file, {
    ...options,
    now: () => now,
    compare: async (password, hash) => {
      calls.push(password)
      await new Promise((r) => setTimeout(r, 5))
      return passwords[hash] === password
    },
  })
  return { h, calls, advance: (ms: number) => (now += ms) }
}

test('a success is remembered for a while; a failure never is', async (t) => {
  const { h, calls, advance } = counted(fileWith(tmp(t), ALICE, BOB), { cacheMs: 60_000 })
  assert.equal(await h.verify('alice', 's3cret'), true)
  assert.equal(await h.verify('alice', 's3cret'), true)
  assert.equal(calls.length, 1, 'the second check is remembered')
  advance(59_000)
  assert.equal(await h.verify('alice', 's3cret'), true)
  assert.equal(calls.length, 1)
  advance(2_000)
  assert.equal(await h.verify('alice', 's3cret'), true)
  assert.equal(calls.length, 2, 'expired after cacheMs')
  assert.equal(await h.verify('alice', 'wrong'), false)
  assert.equal(await h.verify('alice', 'wrong'), false)
  assert.equal(calls.length, 4, 'failures are checked every time')
  // The user is part of the key: bob with alice's password is not alice.
  assert.equal(await h.verify('bob', 's3cret'), false)
})

test('parallel checks of the same credentials share one bcrypt run', async (t) => {
  const { h, calls } = counted(fileWith(tmp(t), ALICE, BOB))
  const results = await Promise.all(Array.from({ length: 20 }, () => h.verify('alice', 's3cret')))
  assert.deepEqual(new Set(results), new Set([true]))
  assert.equal(calls.length, 1)
})

test('the memory is bounded: the oldest success is forgotten first', async (t) => {
  const { h, calls } = counted(fileWith(tmp(t), ALICE, BOB), { cacheEntries: 1 })
  await h.verify('alice', 's3cret')
  await h.verify('bob', 'pw')
  await h.verify('bob', 'pw')
  assert.equal(calls.length, 2)
  await h.verify('alice', 's3cret')
  assert.equal(calls.length, 3, 'alice was pushed out by bob')
})

test('reload swaps the users and forgets remembered successes; a bad file keeps the old users', async (t) => {
  const dir = tmp(t)
  const file = fileWith(dir, ALICE, BOB)
  const h = Htpasswd.load(file)
  assert.equal(await h.verify('alice', 's3cret'), true)
  fileWith(dir, BOB)
  assert.deepEqual(h.reload(), { ok: true, users: 1 })
  assert.equal(await h.verify('alice', 's3cret'), false, 'a removed user is refused at once, remembered or not')
  assert.equal(await h.verify('bob', 'pw'), true)
  fileWith(dir, BOB, 'carol:$apr1$mWmwQC8o$TK6Pe4c1ehTiA5MHvpnIg0')
  const bad = h.reload()
  assert.equal(bad.ok, false)
  assert.match((bad as { error: string }).error, /htpasswd:2: user "carol": an Apache MD5/)
  assert.equal(h.userCount, 1)
  assert.equal(await h.verify('bob', 'pw'), true)
})

test('watch re-reads the file when it changes, also when an editor replaces it', async (t) => {
  const dir = tmp(t)
  const file = fileWith(dir, ALICE)
  const h = Htpasswd.load(file)
  const seen: unknown[] = []
  const stop = h.watch((outcome) => seen.push(outcome), 20)
  t.after(stop)
  const waitFor = async (n: number) => {
    for (let i = 0; i < 200 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10))
  }
  writeFileSync(join(dir, 'next'), [ALICE, BOB].join('\n') + '\n')
  renameSync(join(dir, 'next'), file)
  await waitFor(1)
  assert.deepEqual(seen[0], { ok: true, users: 2 })
  assert.equal(await h.verify('bob', 'pw'), true)
})

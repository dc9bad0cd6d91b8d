/** Signing keys published in package trees: what counts as a key, and which file is taken. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { findSigningKey, keyFormatOf } from '../../src/repos/keys.js'
import { tempDir } from '../helpers/server.js'

const ARMORED_KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZfake\n-----END PGP PUBLIC KEY BLOCK-----\n'
/** An old-format public-key packet header (tag 6, one-octet length), version 4, as `gpg --export` writes an ed25519 key. */
const BINARY_KEY = Buffer.from([0x98, 0x33, 0x04, 0x65, 0x00, 0x00, 0x00, 0x16])
const ARMORED_SIGNATURE = '-----BEGIN PGP SIGNATURE-----\n\niHUEfake\n-----END PGP SIGNATURE-----\n'
/** An old-format signature packet (tag 2): a binary Release.gpg. */
const BINARY_SIGNATURE = Buffer.from([0x88, 0x75, 0x04, 0x00, 0x16, 0x0a])

test('a key is known by its first bytes', () => {
  assert.equal(keyFormatOf(Buffer.from(ARMORED_KEY)), 'armored')
  assert.equal(keyFormatOf(Buffer.from(`\uFEFF\n${ARMORED_KEY}`)), 'armored')
  assert.equal(keyFormatOf(BINARY_KEY), 'binary')
  assert.equal(keyFormatOf(Buffer.from([0x99, 0x01, 0x0d, 0x04])), 'binary', 'old format, two-octet length (RSA)')
  assert.equal(keyFormatOf(Buffer.from([0xc6, 0x33, 0x04])), 'binary', 'new format')
  assert.equal(keyFormatOf(Buffer.from(ARMORED_SIGNATURE)), null)
  assert.equal(keyFormatOf(BINARY_SIGNATURE), null)
  assert.equal(keyFormatOf(Buffer.from([0x98, 0x33, 0x09])), null, 'no such key version')
  assert.equal(keyFormatOf(Buffer.from('Origin: Debian\n')), null)
  assert.equal(keyFormatOf(Buffer.alloc(0)), null)
})

test('which file of a tree is its key', async (t) => {
  const dir = tempDir('outpost-keys-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const put = (name: string, data: string | Buffer) => {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), data)
  }
  put('Release.gpg', ARMORED_SIGNATURE)
  put('notes.asc', 'not a key\n')
  assert.equal(await findSigningKey('apt', dir, ['Release.gpg', 'notes.asc']), null, 'a signature or text is no key')
  put('archive-keyring.gpg', BINARY_KEY)
  put('armored-named.gpg', ARMORED_KEY)
  assert.equal(
    await findSigningKey('apt', dir, ['Release.gpg', 'archive-keyring.gpg', 'armored-named.gpg']),
    'archive-keyring.gpg',
    'the format agrees with the name',
  )
  put('a key.asc', ARMORED_KEY)
  put('outpost.asc', ARMORED_KEY)
  assert.equal(
    await findSigningKey('apt', dir, ['a key.asc', 'outpost.asc', 'zz.gpg']),
    'outpost.asc',
    'names that need quoting are passed over',
  )

  put('repodata/repomd.xml.key', ARMORED_KEY)
  assert.equal(await findSigningKey('yum', dir, ['Packages', 'repodata']), 'repodata/repomd.xml.key')
  put('RPM-GPG-KEY-Rocky-9', ARMORED_KEY)
  assert.equal(await findSigningKey('yum', dir, ['outpost.asc', 'RPM-GPG-KEY-Rocky-9']), 'RPM-GPG-KEY-Rocky-9')
  put('RPM-GPG-KEY-binary', BINARY_KEY)
  assert.equal(await findSigningKey('yum', dir, ['RPM-GPG-KEY-binary']), 'repodata/repomd.xml.key', 'rpm takes armoured keys only')
})

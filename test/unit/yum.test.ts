import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parsePrimary, parseRepomd } from '../../src/repos/yum.js'
import { IndexParseError, checksumOf, decompressIndex } from '../../src/repos/checks.js'
import { gzipSync } from 'node:zlib'

// As createrepo_c 0.17 writes it (two entries kept).
const REPOMD = `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1795424679</revision>
  <data type="primary">
    <checksum type="sha256">fb0241f1f0d304dd2d60771dab44c1dbcc4741bf265ac286b74e257ec7e42a3e</checksum>
    <open-checksum type="sha256">6ee9d571494920d6a9cefb13b247276fdb036a4ff3c8fcc16d3c8157454ce896</open-checksum>
    <location href="repodata/fb0241f1f0d304dd2d60771dab44c1dbcc4741bf265ac286b74e257ec7e42a3e-primary.xml.gz"/>
    <timestamp>1795424679</timestamp>
    <size>667</size>
    <open-size>2089</open-size>
  </data>
  <data type="primary_db">
    <checksum type="sha">1e50a3f1b2c3d4e5f60718293a4b5c6d7e8f9012</checksum>
    <location href="repodata/x-primary.sqlite.bz2" xml:base="http://mirror.example/repo/"/>
    <size>1857</size>
    <database_version>10</database_version>
  </data>
</repomd>`

const PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>outpost-app</name>
  <arch>noarch</arch>
  <version epoch="0" ver="1.0" rel="1"/>
  <checksum type="sha256" pkgid="YES">d060dbbc5f83ff7431576142cfdd82b9d529904298fa52392f7f46e1c4c7b8e8</checksum>
  <summary>test package &amp; app</summary>
  <description>test package app</description>
  <size package="6106" installed="4" archive="272"/>
  <location href="Packages/outpost-app-1.0-1.noarch.rpm"/>
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:requires>
      <rpm:entry name="outpost-dep" flags="GE" epoch="0" ver="1.0"/>
    </rpm:requires>
  </format>
</package>
<package type="rpm">
  <name>1e5</name>
  <arch>x86_64</arch>
  <version epoch="2" ver="0.9" rel="3.el7"/>
  <checksum type="sha256" pkgid="YES">1e50000000000000000000000000000000000000000000000000000000000000</checksum>
  <size package="12"/>
  <location href="Packages/1/1e5-0.9-3.el7.x86_64.rpm"/>
</package>
</metadata>`

test('repomd.xml: every data entry, checksums as hex strings, xml:base kept', () => {
  const entries = parseRepomd(REPOMD)
  assert.equal(entries.length, 2)
  assert.deepEqual(entries[0], {
    type: 'primary',
    href: 'repodata/fb0241f1f0d304dd2d60771dab44c1dbcc4741bf265ac286b74e257ec7e42a3e-primary.xml.gz',
    base: null,
    checksum: { algorithm: 'sha256', value: 'fb0241f1f0d304dd2d60771dab44c1dbcc4741bf265ac286b74e257ec7e42a3e' },
    openChecksum: { algorithm: 'sha256', value: '6ee9d571494920d6a9cefb13b247276fdb036a4ff3c8fcc16d3c8157454ce896' },
    size: 667,
    openSize: 2089,
  })
  assert.deepEqual(
    entries[1]!.checksum,
    { algorithm: 'sha1', value: '1e50a3f1b2c3d4e5f60718293a4b5c6d7e8f9012' },
    '"sha" is SHA-1; "1e50…" stays a string',
  )
  assert.equal(entries[1]!.base, 'http://mirror.example/repo/')
  assert.equal(entries[1]!.openSize, null)
})

test('repomd.xml: a single data entry is still a list; broken documents are IndexParseErrors', () => {
  assert.equal(parseRepomd('<repomd><data type="primary"><location href="repodata/p.xml"/></data></repomd>').length, 1)
  assert.deepEqual(parseRepomd('<repomd></repomd>'), [])
  assert.throws(() => parseRepomd('<notrepomd/>'), IndexParseError)
  assert.throws(() => parseRepomd('<repomd><data type="x"></data></repomd>'), IndexParseError)
  assert.throws(() => parseRepomd('<repomd><data'), IndexParseError)
})

test('primary.xml: name, EVR, location, package size, checksum', () => {
  const pkgs = parsePrimary(PRIMARY)
  assert.deepEqual(pkgs[0], {
    name: 'outpost-app',
    arch: 'noarch',
    epoch: '0',
    version: '1.0',
    release: '1',
    href: 'Packages/outpost-app-1.0-1.noarch.rpm',
    base: null,
    size: 6106,
    checksum: { algorithm: 'sha256', value: 'd060dbbc5f83ff7431576142cfdd82b9d529904298fa52392f7f46e1c4c7b8e8' },
  })
  assert.equal(pkgs[1]!.name, '1e5', 'names that look like numbers stay strings')
  assert.equal(pkgs[1]!.epoch, '2')
  assert.equal(pkgs[1]!.checksum!.value, '1e50000000000000000000000000000000000000000000000000000000000000')
  assert.deepEqual(parsePrimary('<metadata packages="0"></metadata>'), [])
  assert.throws(() => parsePrimary('<metadata><package><name>x</name></package></metadata>'), IndexParseError)
})

test('checksums: known algorithms, hex of the right length', () => {
  assert.deepEqual(checksumOf('SHA256', 'AB'.repeat(32)), { algorithm: 'sha256', value: 'ab'.repeat(32) })
  assert.equal(checksumOf('sha256', 'ab'), null)
  assert.equal(checksumOf('crc32', 'abcd1234'), null)
  assert.equal(checksumOf('sha512', 'zz'.repeat(64)), null)
})

test('index decompression: plain and gzip; others are reported as unreadable', () => {
  assert.equal(decompressIndex('x-primary.xml.gz', gzipSync('<a/>'))!.toString(), '<a/>')
  assert.equal(decompressIndex('x-primary.xml', Buffer.from('<a/>'))!.toString(), '<a/>')
  for (const n of ['p.xml.zst', 'p.xml.xz', 'p.xml.bz2', 'p.xml.zck', 'Packages.xz'])
    assert.equal(decompressIndex(n, Buffer.alloc(1)), null, n)
})

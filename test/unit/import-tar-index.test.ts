import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, truncateSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { TarArchive, normalizeTarName, parsePax } from '../../src/images/import/tar-index.js'
import { ImportError } from '../../src/images/import/errors.js'
import { tempDir } from '../helpers/server.js'
import { END_OF_ARCHIVE, padded, paxRecord, rawHeader, tarBuffer, writeFile } from '../helpers/image-archives.js'

const dir = tempDir('outpost-import-tar-')
after(() => rmSync(dir, { recursive: true, force: true }))

const text = async (tar: TarArchive, name: string): Promise<string> => {
  const entry = tar.file(name)
  assert.ok(entry, `${name} is indexed`)
  const chunks: Buffer[] = []
  for await (const c of tar.stream(entry)) chunks.push(c as Buffer)
  const streamed = Buffer.concat(chunks)
  assert.deepEqual(await tar.read(entry), streamed, 'read and stream give the same bytes')
  return streamed.toString('utf8')
}

const rejectsWith = async (p: Promise<unknown>, pattern: RegExp): Promise<ImportError> => {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof ImportError, `an ImportError, got ${String(err)}`)
    assert.match(err.message, pattern)
    return err
  }
  assert.fail(`expected an error matching ${pattern}`)
}

test('member names are normalised', () => {
  assert.equal(normalizeTarName('./a//b/'), 'a/b')
  assert.equal(normalizeTarName('/abs/x'), 'abs/x')
  assert.equal(normalizeTarName('a/./b/../c'), 'a/c')
  assert.equal(normalizeTarName('./'), '')
})

test('pax records are read by their length prefix', () => {
  const pax = parsePax(Buffer.from(paxRecord('path', 'a/b c=d') + paxRecord('size', '12345678901')))
  assert.equal(pax.get('path'), 'a/b c=d')
  assert.equal(pax.get('size'), '12345678901')
})

test('indexes members at their offsets: plain, ustar prefix, pax path, links, ./ names, directories', async () => {
  const deep = `${'d'.repeat(80)}/${'e'.repeat(60)}/file.txt` // over 100 bytes: split into prefix + name
  const unsplittable = `${'x'.repeat(120)}.txt` // no slash to split at: a pax path
  const bytes = await tarBuffer([
    { name: 'dir', type: 'directory' },
    { name: './top.json', body: '{"a":1}' },
    { name: deep, body: 'deep' },
    { name: unsplittable, body: 'pax' },
    { name: 'blobs/sha256/abc', body: 'blob bytes' },
    { name: 'id/layer.tar', type: 'symlink', linkname: '../blobs/sha256/abc' },
    { name: 'hard', type: 'link', linkname: 'blobs/sha256/abc' },
    { name: 'loop', type: 'symlink', linkname: 'loop' },
    { name: 'empty', body: '' },
  ])
  const path = writeFile(join(dir, 'plain.tar'), bytes)
  const tar = await TarArchive.open(path)
  try {
    assert.equal(await text(tar, 'top.json'), '{"a":1}')
    assert.equal(await text(tar, deep), 'deep')
    assert.equal(await text(tar, unsplittable), 'pax')
    assert.equal(await text(tar, 'id/layer.tar'), 'blob bytes', 'a relative symlink is followed from its folder')
    assert.equal(await text(tar, 'hard'), 'blob bytes', 'a hard link names a member from the root')
    assert.equal(await text(tar, 'empty'), '')
    assert.equal(tar.file('loop'), undefined, 'a link loop resolves to nothing')
    assert.equal(tar.file('dir'), undefined, 'a directory is not a file')
    assert.equal(tar.file('nope'), undefined)
    assert.equal(tar.entries.get('dir')?.type, 'directory')
  } finally {
    await tar.close()
  }
})

test('GNU long names and long link names', async () => {
  const longName = `blobs/${'n'.repeat(150)}`
  const longLink = `blobs/${'n'.repeat(150)}`
  const body = Buffer.from('gnu body')
  const bytes = Buffer.concat([
    rawHeader('././@LongLink', longName.length + 1, 'L', { gnu: true }),
    padded(`${longName}\0`),
    rawHeader(longName.slice(0, 99), body.length, '0', { gnu: true }),
    padded(body),
    rawHeader('././@LongLink', longLink.length + 1, 'K', { gnu: true }),
    padded(`${longLink}\0`),
    rawHeader('link-to-long', 0, '2', { gnu: true, linkname: longLink.slice(0, 99) }),
    rawHeader('with-prefix', 3, '0', { prefix: 'some/prefix' }),
    padded('pfx'),
    rawHeader('gnu-ignores-prefix', 3, '0', { gnu: true, prefix: 'not/a/prefix' }),
    padded('gnu'),
    END_OF_ARCHIVE,
  ])
  const tar = await TarArchive.open(writeFile(join(dir, 'gnu.tar'), bytes))
  try {
    assert.equal(await text(tar, longName), 'gnu body')
    assert.equal(await text(tar, 'link-to-long'), 'gnu body')
    assert.equal(await text(tar, 'some/prefix/with-prefix'), 'pfx')
    assert.equal(await text(tar, 'gnu-ignores-prefix'), 'gnu')
  } finally {
    await tar.close()
  }
})

test('a pax size overrides the header size', async () => {
  const body = 'sized by pax'
  const paxData = paxRecord('size', String(body.length))
  const bytes = Buffer.concat([
    rawHeader('PaxHeader', paxData.length, 'x'),
    padded(paxData),
    rawHeader('file', 0, '0'),
    padded(body),
    END_OF_ARCHIVE,
  ])
  const tar = await TarArchive.open(writeFile(join(dir, 'pax-size.tar'), bytes))
  try {
    assert.equal(await text(tar, 'file'), body)
  } finally {
    await tar.close()
  }
})

test('a base-256 size field (GNU, for members over 8 GiB) is read', async () => {
  const body = Buffer.from('binary size')
  const header = rawHeader('big', 0, '0', { gnu: true })
  header.fill(0, 124, 136)
  header[124] = 0x80
  header.writeUInt32BE(body.length, 132)
  header.write('        ', 148)
  let sum = 0
  for (const v of header) sum += v
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  const tar = await TarArchive.open(writeFile(join(dir, 'base256.tar'), Buffer.concat([header, padded(body), END_OF_ARCHIVE])))
  try {
    assert.equal(await text(tar, 'big'), 'binary size')
  } finally {
    await tar.close()
  }
})

test('a truncated archive names the member it cuts', async () => {
  const big = Buffer.alloc(5000, 1)
  const bytes = await tarBuffer([
    { name: 'manifest.json', body: '[]' },
    { name: 'blobs/sha256/big', body: big },
  ])
  const path = writeFile(join(dir, 'cut.tar'), bytes)
  truncateSync(path, 512 + 512 + 512 + 2000) // inside the second member's data
  const err = await rejectsWith(TarArchive.open(path), /truncated/)
  assert.equal(err.file, path)
  assert.equal(err.entry, 'blobs/sha256/big')

  const atBoundary = writeFile(join(dir, 'cut-at-boundary.tar'), bytes.subarray(0, 512 + 512))
  const err2 = await rejectsWith(TarArchive.open(atBoundary), /truncated after this entry: .*without its end-of-archive blocks/)
  assert.equal(err2.entry, 'manifest.json')
})

test('a corrupt header and a non-tar file are named', async () => {
  const bytes = await tarBuffer([
    { name: 'a', body: 'x' },
    { name: 'b', body: 'y' },
  ])
  const corrupt = Buffer.from(bytes)
  corrupt[1024 + 3] ^= 0xff // inside the name field of the second header
  const err = await rejectsWith(TarArchive.open(writeFile(join(dir, 'corrupt.tar'), corrupt)), /checksum mismatch/)
  assert.match(err.message, /after a/)
  await rejectsWith(TarArchive.open(writeFile(join(dir, 'not.tar'), Buffer.alloc(2048, 'hello'))), /not a tar archive/)
  await rejectsWith(TarArchive.open(writeFile(join(dir, 'empty.tar'), Buffer.alloc(0))), /not a tar archive \(empty\)/)
  assert.equal(statSync(join(dir, 'empty.tar')).size, 0)
})

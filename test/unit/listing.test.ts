import { test } from 'node:test'
import assert from 'node:assert/strict'
import { prefersJson, renderHtml, renderJson, sortEntries, type ListingEntry } from '../../src/repos/listing.js'

const T = Date.parse('2024-03-05T06:07:08Z')
const entries = (): ListingEntry[] => [
  { name: 'b.txt', type: 'file', size: 3, mtimeMs: T },
  { name: 'Z', type: 'directory', size: 4096, mtimeMs: T },
  { name: 'a b<&>".txt', type: 'file', size: 10, mtimeMs: T },
  { name: 'a', type: 'directory', size: 4096, mtimeMs: T },
  { name: 'é.txt', type: 'file', size: 1, mtimeMs: T },
]

test('directories first, then code point order', () => {
  assert.deepEqual(
    sortEntries(entries()).map((e) => e.name),
    ['Z', 'a', 'a b<&>".txt', 'b.txt', 'é.txt'],
  )
})

test('Accept negotiation for listings', () => {
  assert.equal(prefersJson(undefined), false)
  assert.equal(prefersJson(''), false)
  assert.equal(prefersJson('*/*'), false)
  assert.equal(prefersJson('application/json'), true)
  assert.equal(prefersJson('application/json, text/plain, */*'), true)
  assert.equal(prefersJson('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), false)
  assert.equal(prefersJson('text/html;q=0.5, application/json'), true)
  assert.equal(prefersJson('application/json, text/html'), false, 'a tie goes to HTML')
  assert.equal(prefersJson('application/json;q=0'), false)
  assert.equal(prefersJson('application/*'), true)
})

test('HTML escapes names and encodes links', () => {
  const html = renderHtml('/x/<y>/', sortEntries(entries()))
  assert.match(html, /<title>Index of \/x\/&lt;y&gt;\/<\/title>/)
  assert.match(html, /<a href="\.\/a%20b%3C%26%3E%22\.txt">a b&lt;&amp;&gt;&quot;\.txt<\/a>/)
  assert.match(html, /<a href="\.\/%C3%A9\.txt">é\.txt<\/a>/)
  assert.match(html, /<a href="\.\/Z\/">Z\/<\/a><\/td><td>2024-03-05 06:07<\/td><td class="size">-<\/td>/)
  assert.match(html, /<a href="\.\.\/">/)
  assert.doesNotMatch(renderHtml('/', []), /\.\.\//, 'no parent link at the top')
})

test('JSON has the nginx autoindex shape', () => {
  assert.deepEqual(JSON.parse(renderJson(sortEntries(entries()).slice(0, 2).concat(entries()[0]!))), [
    { name: 'Z', type: 'directory', mtime: 'Tue, 05 Mar 2024 06:07:08 GMT' },
    { name: 'a', type: 'directory', mtime: 'Tue, 05 Mar 2024 06:07:08 GMT' },
    { name: 'b.txt', type: 'file', mtime: 'Tue, 05 Mar 2024 06:07:08 GMT', size: 3 },
  ])
})

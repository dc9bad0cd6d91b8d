#!/usr/bin/env node
// Writes COUNT small files (1–20 KiB) under ROOT, 100 to a folder.
//   node bench/make-files-tree.mjs ROOT [COUNT=100000]
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

const [root, countArg = '100000'] = process.argv.slice(2)
if (!root) {
  console.error('usage: make-files-tree.mjs ROOT [COUNT]')
  process.exit(2)
}
const count = Number(countArg)
const pool = randomBytes(20 * 1024)
for (let i = 0; i < count; i++) {
  const dir = join(root, `d${String(Math.floor(i / 100)).padStart(4, '0')}`)
  if (i % 100 === 0) mkdirSync(dir, { recursive: true })
  const size = 1024 + ((i * 7919) % (19 * 1024))
  writeFileSync(join(dir, `f${i}.bin`), pool.subarray(0, size))
}
console.log(JSON.stringify({ files: count }))

#!/usr/bin/env node
// Copies what tsc does not emit, every file under src/ that is not
// TypeScript (bootstrap.sh), to the same place under the build's output, so
// modules read them from beside themselves in src/ and in dist/ alike; then
// makes every emitted script that starts with `#!` (dist/cli/index.js,
// dist/cli.js) executable.
//   node scripts/copy-assets.mjs [OUTDIR]     (default: dist)
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

const src = 'src'
const out = process.argv[2] ?? 'dist'

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? walk(p) : e.isFile() && !e.name.endsWith('.ts') ? [p] : []
  })

for (const file of walk(src)) {
  const dest = join(out, relative(src, file))
  mkdirSync(dirname(dest), { recursive: true })
  copyFileSync(file, dest)
}

const startsWithShebang = (file) => {
  const fd = openSync(file, 'r')
  try {
    const head = Buffer.alloc(2)
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString() === '#!'
  } finally {
    closeSync(fd)
  }
}

for (const file of walk(out)) {
  if (file.endsWith('.js') && startsWithShebang(file)) chmodSync(file, statSync(file).mode | 0o111)
}

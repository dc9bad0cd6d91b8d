#!/usr/bin/env node
// Copies what tsc does not emit, every file under src/ that is not
// TypeScript (bootstrap.sh), to the same place under the build's output, so
// modules read them from beside themselves in src/ and in dist/ alike.
//   node scripts/copy-assets.mjs [OUTDIR]     (default: dist)
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
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

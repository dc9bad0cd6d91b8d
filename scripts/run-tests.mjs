#!/usr/bin/env node
// Runs the test suites with node:test (TypeScript through tsx).
//   node scripts/run-tests.mjs            every suite: unit, http, e2e
//   node scripts/run-tests.mjs unit http  only those
// Node 20's --test takes no globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const SUITES = ['unit', 'http', 'e2e']
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'))
for (const s of wanted) {
  if (!SUITES.includes(s)) {
    console.error(`unknown suite "${s}"; suites: ${SUITES.join(', ')}`)
    process.exit(2)
  }
}
const suites = wanted.length ? wanted : SUITES

const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : []
  })

const files = suites.flatMap((s) => walk(join('test', s))).sort()
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2'
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...extra, ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)

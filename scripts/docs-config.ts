/**
 * Writes the configuration docs generated from the schema: the table between
 * the config-table markers in README.md, and config/outpost.example.yaml.
 *   npm run docs:config
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { renderExampleConfig, withReadmeTable } from '../src/server/config-docs.js'

const root = new URL('..', import.meta.url)
const write = (file: string, text: string): void => {
  const path = new URL(file, root)
  if (readFileSync(path, 'utf8') === text) return
  writeFileSync(path, text)
  process.stdout.write(`wrote ${file}\n`)
}

write('README.md', withReadmeTable(readFileSync(new URL('README.md', root), 'utf8')))
write('config/outpost.example.yaml', renderExampleConfig())

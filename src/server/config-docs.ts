/**
 * The configuration docs, generated from the schema: the README's table of
 * keys and config/outpost.example.yaml. `npm run docs:config` writes both;
 * test/unit/config-docs.test.ts holds the files to what this renders.
 */
import { stringify } from 'yaml'
import { CONFIG_SECTIONS, type ConfigKey } from './config-keys.js'

export const README_TABLE_START = '<!-- config-table:start -->'
export const README_TABLE_END = '<!-- config-table:end -->'

const cell = (text: string): string => text.replace(/\|/g, '\\|')
const code = (text: string): string => `\`${text}\``

const defaultText = (k: ConfigKey): string => {
  const v = k.default
  const shown = v === null || v === undefined ? 'none' : Array.isArray(v) ? code(`[${v.join(', ')}]`) : code(String(v))
  return k.defaultNote ? `${shown} (${k.defaultNote})` : shown
}

const flagText = (k: ConfigKey): string => {
  if (!k.flag) return ''
  return `${code(`--${k.flag.name}`)}${k.list ? ' (repeatable)' : ''}`
}

const whatText = (k: ConfigKey): string => {
  const named = k.choices?.every((c) => k.doc.includes(code(c)))
  return k.choices && !named ? `${k.doc} (one of ${k.choices.map(code).join(', ')})` : k.doc
}

/** The README's table of keys (between the config-table markers, markers excluded). */
export const renderReadmeTable = (): string => {
  const rows = CONFIG_SECTIONS.flatMap((s) => s.keys).map((k) =>
    [code(k.name), code(k.env), flagText(k), defaultText(k), whatText(k)].map(cell).join(' | '),
  )
  return (
    ['| key | environment | flag | default | what |', '| --- | --- | --- | --- | --- |', ...rows.map((r) => `| ${r} |`)].join('\n') + '\n'
  )
}

/** Replaces what is between the markers in `readme` by the table. */
export const withReadmeTable = (readme: string): string => {
  const start = readme.indexOf(README_TABLE_START)
  const end = readme.indexOf(README_TABLE_END)
  if (start < 0 || end < start) throw new Error(`README has no ${README_TABLE_START} … ${README_TABLE_END} markers`)
  return `${readme.slice(0, start + README_TABLE_START.length)}\n${renderReadmeTable()}${readme.slice(end)}`
}

const EXAMPLE_HEADER = [
  '# Outpost configuration: every key, with its default.',
  '# (Generated from src/server/config-schema.ts by `npm run docs:config`.)',
  '#',
  '# Layers: this file, then the environment, then command-line flags (flags win).',
  '# Every key has an environment variable: OUTPOST_ + the key path in upper case',
  '# joined by "_" (listen.http → OUTPOST_LISTEN_HTTP); lists are comma-separated.',
  '# Relative paths here are relative to this file.',
  '# Check a file with: outpost check-config FILE',
]

const capitalized = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

/** Splits a comment into lines of at most `width` characters (words are kept whole). */
const wrap = (text: string, width: number): string[] => {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  return [...lines, line]
}

const exampleKey = (k: ConfigKey, indent: string): string[] => {
  const notes = k.notes ? k.notes : wrap(`${capitalized(k.doc).replace(/`/g, '')}.`, 76)
  const extra = [
    ...(k.choices ? [k.choices.join(' | ')] : []),
    ...(k.flag ? [`Flag: --${k.flag.name}${k.list ? ' (repeatable)' : ''}`] : []),
  ]
  const yaml = stringify({ [k.path[k.path.length - 1]!]: k.default })
    .trimEnd()
    .split('\n')
  return [...notes, ...extra].map((l) => `${indent}# ${l}`.trimEnd()).concat(yaml.map((l) => `${indent}${l}`))
}

/** config/outpost.example.yaml: every key with its default and what it means. */
export const renderExampleConfig = (): string => {
  const lines = [...EXAMPLE_HEADER]
  for (const s of CONFIG_SECTIONS) {
    lines.push('')
    if (!s.name) {
      lines.push(...exampleKey(s.keys[0]!, ''))
      continue
    }
    lines.push(`${s.name}:`)
    if (s.notes) lines.push(...s.notes.map((l) => `  # ${l}`), '')
    // Keys inside an object of the section (`registry.auth.htpasswd`) go under its name, once.
    let open: string[] = []
    for (const k of s.keys) {
      const parents = k.path.slice(1, -1)
      let same = 0
      while (same < open.length && same < parents.length && open[same] === parents[same]) same++
      for (let depth = same; depth < parents.length; depth++) {
        const indent = '  '.repeat(depth + 1)
        const innermost = depth === parents.length - 1
        lines.push('', ...(innermost && k.groupNotes ? k.groupNotes.map((l) => `${indent}# ${l}`) : []), `${indent}${parents[depth]}:`)
      }
      open = parents
      lines.push(...exampleKey(k, '  '.repeat(parents.length + 1)))
    }
  }
  return lines.join('\n') + '\n'
}

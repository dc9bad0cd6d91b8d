/**
 * Configuration errors in words: where a key sits in the file (its line),
 * which known key a misspelt one was meant to be, and what a value should
 * have been ("expected a whole number of days, got \"many\"") instead of the
 * validator's own terms.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml'
import { z } from 'zod'
import { CONFIG_KEYS, type ConfigKey } from './config-keys.js'
import { configSchema } from './config-schema.js'

export type KeyPath = ReadonlyArray<string | number>

/** Edit distance with adjacent transpositions (optimal string alignment): `rots`→`roots` 1, `htpp`→`http` 1. */
export const editDistance = (a: string, b: string): number => {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

/** Every key path Outpost knows: the leaves and the objects that hold them (`registry`, `registry.auth`). */
const KNOWN_PATHS: readonly string[] = (() => {
  const paths = new Set<string>()
  for (const k of CONFIG_KEYS) for (let i = 1; i <= k.path.length; i++) paths.add(k.path.slice(0, i).join('.'))
  return [...paths]
})()

const parentOf = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf('.')))
const lastOf = (path: string): string => path.slice(path.lastIndexOf('.') + 1)
const isSubsequence = (short: string, long: string): boolean => {
  let i = 0
  for (const c of long) if (c === short[i]) i++
  return i === short.length
}

const squash = (s: string): string => s.toLowerCase().replace(/[-_.\s]/g, '')

/**
 * The known keys an unknown key under `parent` was most likely meant to be:
 * a sibling a typo or two away (`registry.rots` → `registry.roots`), the
 * same name at another level (`http` at the top → `listen.http`), or a path
 * written in one piece (`listen_http` → `listen.http`). Empty when nothing
 * is close.
 */
export const suggestKeys = (parent: readonly string[], name: string): string[] => {
  const prefix = parent.join('.')
  const wanted = name.toLowerCase().replace(/-/g, '_')
  const siblings = KNOWN_PATHS.filter((p) => parentOf(p) === prefix)
  const limit = Math.max(1, Math.floor(wanted.length / 3))
  const scored = siblings.map((p) => ({ p, d: editDistance(wanted, lastOf(p)) })).filter((s) => s.d <= limit)
  if (scored.length) {
    const best = Math.min(...scored.map((s) => s.d))
    const nearest = scored.filter((s) => s.d === best).map((s) => s.p)
    // A tie (`htp`: http or ntp?) goes to the names that hold every letter typed, in order.
    const kept = nearest.filter((p) => isSubsequence(wanted, lastOf(p)))
    return kept.length ? kept : nearest
  }
  const elsewhere = KNOWN_PATHS.filter((p) => lastOf(p) === wanted && parentOf(p) !== prefix)
  if (elsewhere.length) return elsewhere
  const whole = squash(prefix ? `${prefix}.${name}` : name)
  const exact = KNOWN_PATHS.filter((p) => squash(p) === whole)
  return exact.length ? exact : KNOWN_PATHS.filter((p) => whole.length > 6 && editDistance(whole, squash(p)) <= 1)
}

/** ` (did you mean registry.roots?)`, or nothing. */
export const suggestionText = (parent: readonly string[], name: string): string => {
  const found = suggestKeys(parent, name)
  if (!found.length) return ''
  const shown = found.slice(0, 3)
  return ` (did you mean ${shown.length === 1 ? shown[0] : `${shown.slice(0, -1).join(', ')} or ${shown[shown.length - 1]}`}?)`
}

/**
 * Finds lines in a YAML text: `lineOf(['registry', 'rots'])` is the line of
 * that key; a path that goes deeper than the file does gives the line of the
 * deepest part that is there (null when not even the first part is).
 */
export const yamlLocator = (text: string): ((path: KeyPath) => number | null) => {
  const counter = new LineCounter()
  const doc = parseDocument(text, { lineCounter: counter, keepSourceTokens: true })
  const lineAt = (node: Node | null | undefined): number | null => (node?.range ? counter.linePos(node.range[0]).line : null)
  return (path) => {
    let node: unknown = doc.contents
    let line: number | null = null
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg))
        if (!pair) return line
        line = lineAt(pair.key as Node) ?? line
        node = pair.value
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined
        if (!item) return line
        line = lineAt(item) ?? line
        node = item
      } else return line
    }
    return line
  }
}

/** `registry.mappings[0]`, or `(top level)` for the empty path. */
export const keyName = (path: KeyPath): string =>
  path
    .map((p) => (typeof p === 'number' ? `[${p}]` : p))
    .join('.')
    .replace(/\.\[/g, '[') || '(top level)'

/** The configuration key a value path belongs to (`registry.roots[2]` → `registry.roots`). */
export const keyOfPath = (path: KeyPath): ConfigKey | undefined => {
  const names = path.filter((p): p is string => typeof p === 'string')
  return CONFIG_KEYS.find((k) => k.path.length <= names.length && k.path.every((p, i) => names[i] === p))
}

const valueAt = (tree: unknown, path: KeyPath): unknown => {
  let node = tree
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string | number, unknown>)[seg]
  }
  return node
}

/** A value as the operator wrote it: strings quoted, lists and mappings named. */
export const shown = (v: unknown): string => {
  if (v === undefined || v === null) return 'nothing'
  if (typeof v === 'string') return v === '' ? 'an empty value' : JSON.stringify(v)
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return String(v)
}

const unwrap = (schema: z.ZodTypeAny): z.ZodTypeAny => {
  let s = schema
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodNullable || s instanceof z.ZodOptional) s = s._def.innerType
    else if (s instanceof z.ZodPipeline) s = s._def.out
    else return s
  }
}

/** The value schema of a key, or of an entry of a list key. */
const schemaAt = (path: KeyPath): z.ZodTypeAny | null => {
  let s: z.ZodTypeAny = configSchema
  for (const seg of path) {
    const inner = unwrap(s)
    if (typeof seg === 'number' && inner instanceof z.ZodArray) s = inner.element
    else if (typeof seg === 'string' && inner instanceof z.ZodObject && seg in inner.shape)
      s = (inner.shape as Record<string, z.ZodTypeAny>)[seg]!
    else return null
  }
  return s
}

/** A whole-number key's bounds, or null for a key that is not a number. */
const numberBounds = (path: KeyPath): { min: number; max: number } | null => {
  const s = schemaAt(path)
  const inner = s && unwrap(s)
  if (!(inner instanceof z.ZodNumber)) return null
  let min = -Infinity
  let max = Infinity
  for (const c of inner._def.checks) {
    if (c.kind === 'min') min = c.value
    if (c.kind === 'max') max = c.value
  }
  return { min, max }
}

/** The unit a key's name carries (`server_days`, `upload_ttl_s`). */
const unitOf = (path: KeyPath): string => {
  const last = String(path[path.length - 1] ?? '')
  for (const [suffix, unit] of [
    ['_days', 'days'],
    ['_hours', 'hours'],
    ['_ms', 'milliseconds'],
    ['_s', 'seconds'],
  ] as const)
    if (last.endsWith(suffix)) return ` of ${unit}`
  return ''
}

/** What the union-shaped keys take, in the words of the example config. */
const UNION_WORDS: Record<string, string> = {
  'listen.http': 'ADDR:PORT, [IPv6]:PORT, :PORT or off',
  'listen.https': 'ADDR:PORT, [IPv6]:PORT, :PORT or off',
  'listen.push': 'ADDR:PORT, [IPv6]:PORT, :PORT or off',
  'listen.ntp': 'ADDR:PORT, [IPv6]:PORT, :PORT or off',
  'registry.oci_layouts': 'a folder, NAME=DIR or {path: DIR, name: NAME}',
  'registry.mappings': 'FROM=TO or {from: FROM, to: TO}',
  'files.roots': 'a folder, /PREFIX=DIR or {path: DIR, prefix: /PREFIX}',
}

const isBooleanKey = (path: KeyPath): boolean => {
  const s = schemaAt(path)
  const inner = s && unwrap(s)
  const union = inner instanceof z.ZodEffects ? unwrap(inner._def.schema) : inner
  return union instanceof z.ZodUnion && (union.options as z.ZodTypeAny[]).some((o) => o instanceof z.ZodBoolean)
}

/**
 * What was wrong with a value, in words. `value` is the value as written
 * (from the file, the environment or the flags) at `issue.path`.
 */
export const describeIssue = (issue: z.ZodIssue, value: unknown): string => {
  const path = issue.path
  const got = shown(value)
  const bounds = numberBounds(path)
  if (bounds && issue.code !== z.ZodIssueCode.unrecognized_keys) {
    const numeric = typeof value === 'number' || (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value))
    const range =
      numeric && Number.isFinite(bounds.min) && Number.isFinite(bounds.max)
        ? ` from ${bounds.min} to ${bounds.max}`
        : numeric && Number.isFinite(bounds.min)
          ? ` of at least ${bounds.min}`
          : ''
    return `expected a whole number${unitOf(path)}${range}, got ${got}`
  }
  const key = keyOfPath(path)
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      if (isBooleanKey(path) || issue.expected === 'boolean') return `expected true or false, got ${got}`
      if (issue.expected === 'string') return `expected ${key?.paths ? 'a path' : 'text'}, got ${got}`
      if (issue.expected === 'array') return `expected a list (in YAML: [a, b], or one "- item" per line), got ${got}`
      if (issue.expected === 'object') return `expected a mapping of keys (key: value), got ${got}`
      return `expected ${issue.expected}, got ${got}`
    case z.ZodIssueCode.invalid_enum_value:
      return `expected one of ${issue.options.join(', ')}, got ${got}`
    case z.ZodIssueCode.too_small:
      if (issue.type === 'string') return `expected ${key?.paths ? 'a path' : 'a value'}, got ${got}`
      if (issue.type === 'array') return `expected at least ${issue.minimum} ${Number(issue.minimum) === 1 ? 'entry' : 'entries'}, got none`
      return `${issue.message}, got ${got}`
    case z.ZodIssueCode.invalid_string:
      return `${issue.message}, got ${got}`
    case z.ZodIssueCode.invalid_union: {
      // A branch that got past the type check says what is wrong inside it (a bad ADDR:PORT, an unknown field).
      for (const branch of issue.unionErrors) {
        const deeper = branch.issues.find(
          (i) => (i.code !== z.ZodIssueCode.invalid_type && i.code !== z.ZodIssueCode.invalid_literal) || i.path.length > path.length,
        )
        if (deeper) return describeIssue(deeper, deeper.path.length > path.length ? valueAt(value, deeper.path.slice(path.length)) : value)
      }
      if (isBooleanKey(path)) return `expected true or false, got ${got}`
      const words = key && UNION_WORDS[key.name]
      if (!words) return `${issue.message.toLowerCase()}, got ${got}`
      const port =
        key.name.startsWith('listen.') && typeof value === 'number' ? ` (for port ${value} on every address write ":${value}")` : ''
      return `expected ${words}, got ${got}${port}`
    }
    case z.ZodIssueCode.custom:
      // Transforms quote the value themselves; a rule (`must be a DNS name…`) does not.
      return /^must /.test(issue.message) ? `${issue.message}, got ${got}` : issue.message
    case z.ZodIssueCode.unrecognized_keys:
      return `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`
    default:
      return `${issue.message}, got ${got}`
  }
}

/** The fields of the object form of a list entry (`{path, prefix}` of `files.roots`). */
const entryFields = (path: KeyPath): string[] | null => {
  const s = schemaAt(path)
  const inner = s && unwrap(s)
  const options = inner instanceof z.ZodUnion ? (inner.options as z.ZodTypeAny[]) : inner ? [inner] : []
  const object = options.map(unwrap).find((o) => o instanceof z.ZodObject) as z.AnyZodObject | undefined
  return object ? Object.keys(object.shape) : null
}

const fieldSuggestion = (fields: string[], name: string): string => {
  const near = fields.filter((f) => editDistance(name.toLowerCase(), f) <= Math.max(1, Math.floor(name.length / 3)))
  return near.length ? ` (did you mean "${near[0]}"?)` : ` (an entry takes ${fields.join(', ')})`
}

export interface ConfigProblem {
  /** Where in the tree (for the line lookup). */
  path: KeyPath
  /** `registry: unknown key(s) "rots" (did you mean registry.roots?)` */
  text: string
  key: ConfigKey | undefined
}

/** One problem per issue, and per unknown key (each has a line of its own), in words. */
export const configProblems = (error: z.ZodError, tree: unknown): ConfigProblem[] =>
  error.issues.flatMap((issue): ConfigProblem[] => {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      const parent = issue.path.filter((p): p is string => typeof p === 'string')
      const fields = typeof issue.path[issue.path.length - 1] === 'number' ? entryFields(issue.path) : null
      return issue.keys.map((k) => ({
        path: [...issue.path, k],
        text: `${keyName(issue.path)}: unknown key(s) "${k}"${fields ? fieldSuggestion(fields, k) : suggestionText(parent, k)}`,
        key: undefined,
      }))
    }
    return [
      { path: issue.path, text: `${keyName(issue.path)}: ${describeIssue(issue, valueAt(tree, issue.path))}`, key: keyOfPath(issue.path) },
    ]
  })

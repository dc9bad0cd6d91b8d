/**
 * The configuration keys as a list, read off the schema: what the
 * environment layer, the command-line flags, path resolution and the
 * generated docs walk. Nothing here names a key.
 */
import { z } from 'zod'
import { configSchema, keyMeta, sectionMeta, type KeyMeta, type SectionMeta } from './config-schema.js'

export interface ConfigKey extends KeyMeta {
  /** `['listen', 'http']` */
  path: string[]
  /** `listen.http` */
  name: string
  /** `OUTPOST_LISTEN_HTTP` */
  env: string
  /** A list: comma-separated in the environment, a repeatable flag. */
  list: boolean
  /** The default as written in a file (`0.0.0.0:8080`, not the parsed address). */
  default: unknown
  /** The allowed values of an enum key. */
  choices: string[] | null
  /** For a key inside an object within a section (`registry.auth.htpasswd`): that object's notes. */
  groupNotes?: string[]
}

export interface ConfigSection extends SectionMeta {
  name: string
  keys: ConfigKey[]
}

export const envName = (path: string[]): string => `OUTPOST_${path.join('_').toUpperCase()}`

/** Environment variables that are not keys: OUTPOST_CONFIG names the file; OUTPOST_URL is for node scripts. */
export const OTHER_ENV = ['OUTPOST_CONFIG', 'OUTPOST_URL']

const unwrapDefault = (schema: z.ZodTypeAny): { inner: z.ZodTypeAny; default: unknown } =>
  schema instanceof z.ZodDefault
    ? { inner: schema._def.innerType, default: schema._def.defaultValue() }
    : { inner: schema, default: undefined }

const leaf = (path: string[], schema: z.ZodTypeAny): ConfigKey => {
  const meta = keyMeta(schema)
  if (!meta) throw new Error(`config key ${path.join('.')} has no documentation in the schema`)
  const { inner, default: dflt } = unwrapDefault(schema)
  return {
    ...meta,
    path,
    name: path.join('.'),
    env: envName(path),
    list: inner instanceof z.ZodArray,
    default: dflt,
    choices: inner instanceof z.ZodEnum ? [...(inner.options as string[])] : null,
  }
}

/** The leaf keys under a path: an object without key documentation is a group of keys. */
const leaves = (path: string[], schema: z.ZodTypeAny): ConfigKey[] => {
  const { inner } = unwrapDefault(schema)
  if (!(inner instanceof z.ZodObject) || keyMeta(schema)) return [leaf(path, schema)]
  const notes = sectionMeta(schema)?.notes
  return Object.entries(inner.shape as Record<string, z.ZodTypeAny>).flatMap(([k, s]) =>
    leaves([...path, k], s).map((key) => (notes && !key.groupNotes ? { ...key, groupNotes: notes } : key)),
  )
}

/** The top level in schema order: each plain key is its own section without a name. */
const walk = (): ConfigSection[] =>
  Object.entries(configSchema.shape as Record<string, z.ZodTypeAny>).map(([name, schema]) => {
    const { inner } = unwrapDefault(schema)
    if (!(inner instanceof z.ZodObject)) return { name: '', keys: [leaf([name], schema)] }
    const keys = Object.entries(inner.shape as Record<string, z.ZodTypeAny>).flatMap(([k, s]) => leaves([name, k], s))
    return { name, ...(sectionMeta(schema) ?? {}), keys }
  })

/** Top-level keys and sections, in schema order. */
export const CONFIG_SECTIONS: readonly ConfigSection[] = walk()

/** Every leaf key, in schema order. */
export const CONFIG_KEYS: readonly ConfigKey[] = CONFIG_SECTIONS.flatMap((s) => s.keys)

export const configKey = (name: string): ConfigKey => {
  const found = CONFIG_KEYS.find((k) => k.name === name)
  if (!found) throw new Error(`no config key ${name}`)
  return found
}

/**
 * bootstrap.sh: one POSIX sh script that applies a node's whole set-up.
 *
 * The script is `bootstrap.sh` beside this module (the build copies it into
 * dist/), linted by shellcheck. It carries the address it was served from
 * and the manifest of set-up files (setupFiles), filled in here for its
 * `@@NAME@@` placeholders, and fetches each file's content from Outpost at
 * run time, so `OUTPOST_URL` pointing elsewhere gets that Outpost's files.
 * The script is wrapped in main(), called on its last line: with
 * `curl … | sh`, sh reads the script from stdin and must have all of it
 * before any command could read stdin.
 *
 * Every value is one a node is told to trust, from the request's Host and
 * the configuration: each is checked to need no quoting (no quote,
 * backslash, `$`, backtick or newline) before it goes between the single
 * quotes and into the comments of the template.
 */
import { readFileSync } from 'node:fs'
import type { SetupContext } from './context.js'
import type { SetupFile } from './files.js'

/** Characters a manifest field may hold: it is written into the script between single quotes. */
const SAFE_FIELD = /^[A-Za-z0-9._~:/%@+=,*[\]-]+$/

/** A value for a placeholder; the template puts each between single quotes or in a comment. */
const checked = (s: string): string => {
  if (!/^[A-Za-z0-9._~:/%@+=, [\]*-]*$/.test(s)) throw new Error(`refusing to write ${JSON.stringify(s)} into bootstrap.sh`)
  return s
}

export const manifestLines = (files: readonly SetupFile[]): string[] =>
  files.map((f) => {
    const fields = [f.kind, f.url, f.dest, f.match.os, f.match.version, f.match.arch]
    for (const field of fields) if (!SAFE_FIELD.test(field)) throw new Error(`refusing to write ${JSON.stringify(field)} into bootstrap.sh`)
    return fields.join(' ')
  })

/** The manifest alone (`/setup/manifest.txt`), for a script run with another OUTPOST_URL. */
export const renderManifest = (ctx: SetupContext, files: readonly SetupFile[]): string =>
  [
    `# domains: ${ctx.domains.join(' ')}`,
    `# old-ca-sha256: ${checked(ctx.oldCaSha256.join(' '))}`,
    '# kind url destination os version arch',
    ...manifestLines(files),
    '',
  ].join('\n')

/** The template, read once from beside this module (src/ under tsx, dist/ once built). */
let template: string | undefined
const bootstrapTemplate = (): string => (template ??= readFileSync(new URL('./bootstrap.sh', import.meta.url), 'utf8'))

/** Fills every `@@NAME@@` of the template; a placeholder without a value is an error, not left in. */
export const fillTemplate = (text: string, values: Readonly<Record<string, string>>): string =>
  text.replace(/@@([A-Z_]+)@@/g, (_, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`bootstrap.sh: no value for @@${name}@@`)
    return value
  })

export const renderBootstrap = (ctx: SetupContext, files: readonly SetupFile[]): string =>
  fillTemplate(bootstrapTemplate(), {
    OUTPOST_SERVED_URL: checked(ctx.baseUrl),
    REGISTRY_DOMAINS: checked(ctx.domains.join(' ')),
    NTP_PORT: checked(ctx.ntpPort === null ? '' : String(ctx.ntpPort)),
    OLD_CA_FINGERPRINTS: checked(ctx.oldCaSha256.join(' ')),
    // Lines of fields that SAFE_FIELD allows, inside the quoted MANIFEST.
    MANIFEST: manifestLines(files).join('\n'),
  })

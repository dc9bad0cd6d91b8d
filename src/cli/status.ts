/**
 * `outpost status [URL]`: one screen about a running Outpost — ready or not
 * and why, listeners, what it serves, nodes and their clocks, the top
 * misses, the certificate's expiry. Exit 0 when ready, 1 when not ready or
 * when nothing answers (one line naming the address).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { rootCertificates } from 'node:tls'
import type { Command } from 'commander'
import type { OutpostConfig } from '../server/index.js'
import type { ServedInventory, MissRow } from '../catalog/index.js'
import type { NodesView } from '../nodes/inventory.js'
import { humanBytes } from '../nodes/text.js'
import { addConfigOptions, type ConfigFlags } from './options.js'
import { baseUrl, getJson, DEFAULT_TIMEOUT_MS } from './remote.js'
import { EXIT_PROBLEMS, RemoteError, UsageError, commandConfig, fail } from './run.js'

/** What status reads the default address and the CA from. */
const STATUS_KEYS = ['data_dir', 'listen.http', 'listen.https']

export interface Readiness {
  ready: boolean
  checks: Array<{ name: string; ok: boolean; detail?: string }>
  outpost?: {
    version?: string
    startedAt?: string
    listeners?: Array<{ name: string; address: string }>
    certificate?: { source: string; subject: string; notAfter: string } | null
  }
}

export interface StatusData {
  url: string
  readiness: Readiness
  /** null when the catalog cannot answer (with why). */
  inventory: ServedInventory | string
  nodes: NodesView | string
  misses: MissRow[] | string
}

const MAX_LINES = 8

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`
const signed = (ms: number): string => `${ms >= 0 ? '+' : '−'}${Math.abs(Math.round(ms))} ms`
const day = (iso: string): string => iso.slice(0, 10)

const capped = <T>(items: readonly T[], line: (t: T) => string, indent = '  '): string[] => [
  ...items.slice(0, MAX_LINES).map((t) => `${indent}${line(t)}`),
  ...(items.length > MAX_LINES ? [`${indent}… and ${items.length - MAX_LINES} more`] : []),
]

/** Where a check that failed points: `files /: /srv/files: ENOENT`. */
const failing = (r: Readiness) => r.checks.filter((c) => !c.ok)

/** The summary as text (at most one screen) and whether the server is ready. */
export const renderStatus = (s: StatusData, now = new Date()): string => {
  const r = s.readiness
  const about = r.outpost ?? {}
  const lines: string[] = []
  lines.push(`Outpost${about.version ? ` ${about.version}` : ''} at ${s.url}: ${r.ready ? 'ready' : 'NOT READY'}`)
  if (!r.ready) lines.push(...capped(failing(r), (c) => `${c.name}: ${c.detail ?? 'failing'}`))
  const row = (label: string, text: string): void => void lines.push(`${label.padEnd(14)}${text}`)
  if (about.startedAt) row('Up since', about.startedAt.replace(/\.\d+Z$/, 'Z'))
  if (about.listeners) row('Listeners', about.listeners.map((l) => `${l.name} ${l.address}`).join(', ') || 'none')
  const inv = s.inventory
  if (typeof inv === 'string') row('Inventory', inv)
  else {
    const t = inv.totals
    row(
      'Images',
      `${plural(t.repositories, 'repository', 'repositories')}, ${plural(t.tags, 'tag')}, ${humanBytes(t.imageBytes)}${inv.scan.complete ? '' : ' (first scan still running)'}`,
    )
    row('Files', `${plural(t.files, 'file')}, ${humanBytes(t.fileBytes)} in ${plural(inv.files.length, 'root')}`)
    row('Package trees', `${t.trees}${t.treesFailing ? `, ${t.treesFailing} FAILING` : t.trees ? ', all intact' : ''}`)
  }
  const nodes = s.nodes
  if (typeof nodes === 'string') row('Nodes', nodes)
  else {
    const offsets = nodes.nodes.map((n) => n.clockOffsetMs).filter((o): o is number => o !== null)
    const worst = offsets.length ? offsets.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a)) : null
    row(
      'Nodes',
      nodes.count === 0
        ? 'none checked in yet'
        : `${nodes.count} checked in${worst !== null ? `, clock skew up to ${signed(worst)}` : ''}, ${nodes.flagged ? `${nodes.flagged} flagged:` : 'none flagged'}`,
    )
    const flagged = nodes.nodes.filter((n) => n.flags.length)
    lines.push(
      ...capped(
        flagged,
        (n) =>
          `${n.hostname}: ${n.flags
            .map((f) =>
              f === 'clock-skew' && n.clockOffsetMs !== null
                ? `clock ${signed(n.clockOffsetMs)}`
                : f === 'stale'
                  ? `not seen since ${n.lastSeen.replace(/\.\d+Z$/, 'Z')}`
                  : f,
            )
            .join(', ')}`,
        ' '.repeat(16),
      ),
    )
  }
  const misses = s.misses
  if (typeof misses === 'string') row('Misses', misses)
  else if (misses.length === 0) row('Misses', 'none')
  else {
    row('Misses', `${misses.length} distinct (GET /inventory/misses), most asked:`)
    lines.push(...misses.slice(0, 5).map((m) => `${' '.repeat(16)}${m.kind.padEnd(6)}${String(m.count).padStart(5)}×  ${m.ref}`))
  }
  const cert = about.certificate
  if (cert === null) row('Certificate', 'none (HTTPS is off)')
  else if (cert) {
    const days = Math.floor((Date.parse(cert.notAfter) - now.getTime()) / 86_400_000)
    row(
      'Certificate',
      `${cert.subject} (${cert.source}), expires ${day(cert.notAfter)}: ${days < 0 ? 'EXPIRED' : `${plural(days, 'day')} left`}`,
    )
  }
  return `${lines.join('\n')}\n`
}

/** The CA that Outpost made, for an https:// address (system CAs stay trusted). */
const localCa = (config: OutpostConfig | null): string[] | undefined => {
  if (!config) return undefined
  try {
    return [...rootCertificates, readFileSync(join(config.data_dir, 'tls', 'ca.crt'), 'utf8')]
  } catch {
    return undefined
  }
}

/** The loopback address of the configured HTTP listener (HTTPS when HTTP is off). */
export const defaultTarget = (config: OutpostConfig): string => {
  const loop = (host: string): string =>
    host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host
  const { http, https } = config.listen
  if (http) return `http://${loop(http.host)}:${http.port}`
  if (https) return `https://${loop(https.host)}:${https.port}`
  throw new UsageError('listen.http and listen.https are off: give the address (outpost status http://HOST:PORT)')
}

/** Reads the four documents; only the first must answer (the rest say why they could not). */
export const gatherStatus = async (target: string, options: { timeoutMs?: number; ca?: string[] } = {}): Promise<StatusData> => {
  const base = baseUrl(target)
  const opts = { ...options, okStatuses: [503] }
  const readiness = await getJson<Readiness>(base, '/readyz?verbose', opts)
  if (typeof readiness?.ready !== 'boolean' || !Array.isArray(readiness.checks))
    throw new RemoteError(`${base.origin}/readyz does not answer as an Outpost does`)
  const orWhy = <T>(p: Promise<T>): Promise<T | string> => p.catch((err: Error) => `unknown (${err.message})`)
  const [inventory, nodes, misses] = await Promise.all([
    orWhy(getJson<ServedInventory>(base, '/inventory', options)),
    orWhy(getJson<NodesView>(base, '/nodes', options)),
    orWhy(getJson<{ misses: MissRow[] }>(base, '/inventory/misses', options).then((m) => m.misses)),
  ])
  return { url: base.origin, readiness, inventory, nodes, misses }
}

interface StatusFlags extends ConfigFlags {
  timeout?: string
}

const status = async (url: string | undefined, flags: StatusFlags): Promise<void> => {
  try {
    // The configuration gives the default address and the CA; with an address given, a config that cannot be read does not matter.
    let config: OutpostConfig | null = null
    try {
      config = commandConfig(flags)
    } catch (err) {
      if (!url) throw err
    }
    const timeoutMs = flags.timeout !== undefined ? Number(flags.timeout) * 1000 : DEFAULT_TIMEOUT_MS
    if (!(timeoutMs > 0)) throw new UsageError(`--timeout: expected a number of seconds, got "${flags.timeout}"`)
    const ca = localCa(config)
    const data = await gatherStatus(url ?? defaultTarget(config!), { timeoutMs, ...(ca ? { ca } : {}) })
    process.stdout.write(renderStatus(data))
    process.exit(data.readiness.ready ? 0 : EXIT_PROBLEMS)
  } catch (err) {
    fail(err)
  }
}

export const addStatus = (program: Command): void => {
  addConfigOptions(
    program
      .command('status')
      .summary('one screen about a running Outpost; exit 1 when it is not ready')
      .description(
        'one screen about a running Outpost: ready or not and why, listeners, counts, nodes, misses, certificate; exit 1 when not ready',
      )
      .argument('[url]', 'address of a running Outpost; default: the configured HTTP listener on loopback'),
    STATUS_KEYS,
  )
    .option('--timeout <seconds>', `how long to wait for an answer (default ${DEFAULT_TIMEOUT_MS / 1000})`)
    .action(status)
}

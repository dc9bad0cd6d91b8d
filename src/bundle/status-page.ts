/**
 * The status page's HTML: one document the server renders whole, with its
 * style inline and nothing loaded from anywhere (the air gap has no CDN);
 * it reloads itself with `<meta http-equiv="refresh">` and works with
 * JavaScript off (a few lines of inline script only add copy buttons).
 * Every text is escaped; server paths are shown to loopback clients only.
 */
import { createHash } from 'node:crypto'
import type { MissRow, ServedInventory, TreeResult } from '../catalog/index.js'
import { formatImageProblem, isBreaking } from '../images/index.js'
import type { NodesView } from '../nodes/inventory.js'
import { formatAge, formatOffset } from '../nodes/inventory.js'
import { humanBytes } from '../nodes/text.js'
import type { ImageSummary } from './content.js'
import type { CheckReport } from './evaluate.js'
import { el, esc, table, type Cell } from './html.js'

export interface ServerAbout {
  version?: string
  startedAt?: string
  listeners?: Array<{ name: string; address: string; url?: string }>
  certificate?: { source: string; subject: string; notAfter: string } | null
}

export interface StatusData {
  now: Date
  readiness: { ready: boolean; checks: Array<{ name: string; ok: boolean; detail?: string | undefined }> }
  about: ServerAbout | null
  /** null when the catalog is not open. */
  inventory: ServedInventory | null
  images: ImageSummary[]
  trees: TreeResult[]
  requirements: { configured: boolean; report: CheckReport | null; error: string | null }
  nodes: NodesView | null
  misses: MissRow[]
}

export interface RenderOptions {
  /** The client is on loopback: server paths may be shown. */
  showPaths: boolean
  /** Replaces server paths in texts (for other clients). */
  redact: (text: string) => string
  refreshS: number
}

/** Rows shown per table; the rest are counted, with where to find them. */
export const MAX_ROWS = 200

const STYLE = `
:root{color-scheme:light dark;--ok:#1a7f37;--bad:#c62828;--warn:#9a6700;--mute:#6b7280;--line:#d0d7de;--chip:#eef1f4}
@media (prefers-color-scheme:dark){:root{--ok:#3fb950;--bad:#ff7b72;--warn:#d29922;--mute:#9ca3af;--line:#30363d;--chip:#21262d}}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:78rem;padding:.75rem 1rem 3rem}
h1{font-size:1.5rem;margin:.25rem 0}h2{font-size:1.15rem;margin:1.75rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
nav a{margin-right:.8rem;white-space:nowrap}
.state{font-weight:700;font-size:1.1rem}.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.mute{color:var(--mute)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;white-space:nowrap}
code,.mono,textarea{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
.mono{word-break:break-all}
.chip{display:inline-block;background:var(--chip);border-radius:.6rem;padding:0 .45rem;margin:.05rem .15rem .05rem 0;white-space:nowrap}
.chip.bad{font-weight:600}
ul.lines{list-style:none;padding:0;margin:.3rem 0}ul.lines li{padding:.15rem 0;word-break:break-all;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
textarea{width:100%;min-height:6rem;resize:vertical}
@media (max-width:40rem){body{font-size:14px;padding:.5rem}th,td{padding:.25rem .3rem}}
`

const SCRIPT = `for(const b of document.querySelectorAll('button[data-copy]')){b.hidden=false;b.addEventListener('click',()=>{const t=document.getElementById(b.dataset.copy);t.select();(navigator.clipboard?navigator.clipboard.writeText(t.value):Promise.reject()).catch(()=>document.execCommand('copy'));b.textContent='Copied'})}`

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

/** Nothing from another origin, no inline code but the page's own style and script. */
export const STATUS_CSP = `default-src 'none'; style-src ${hash(STYLE)}; script-src ${hash(SCRIPT)}; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`

const badge = (ok: boolean, yes = 'ok', no = 'FAILING'): { html: string } => ({
  html: el('span', { class: ok ? 'ok' : 'bad' }, esc(ok ? yes : no)),
})
const mono = (text: string): { html: string } => ({ html: el('span', { class: 'mono' }, esc(text)) })
const more = (n: number, where: string): string => (n > 0 ? `<p class="mute">… and ${n} more (${esc(where)})</p>` : '')
const section = (id: string, title: string, body: string): string => `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`
const p = (html: string, cls?: string): string => `<p${cls ? ` class="${cls}"` : ''}>${html}</p>`
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`
const day = (iso: string): string => iso.slice(0, 10)

const readinessSection = (d: StatusData, o: RenderOptions): string => {
  const failing = d.readiness.checks.filter((c) => !c.ok)
  // One line per thing named: a check's detail lists them separated by `; `.
  const why = failing.length
    ? `<ul class="lines">${failing
        .map(
          (c) =>
            `<li><span class="bad">${esc(o.redact(c.name))}</span>: ${(c.detail ?? 'failing')
              .split('; ')
              .map((part) => esc(o.redact(part)))
              .join('<br>')}</li>`,
        )
        .join('')}</ul>`
    : p('Nodes can install: every check passes.', 'ok')
  const rows = d.readiness.checks.map((c): Cell[] => [o.redact(c.name), badge(c.ok), o.redact(c.detail ?? '')])
  return section('readiness', 'Readiness', why + table(['Check', 'State', 'Detail'], rows))
}

const serverSection = (d: StatusData, o: RenderOptions): string => {
  const a = d.about
  if (!a) return section('server', 'Listeners and certificate', p('Not known here.', 'mute'))
  const listeners = table(
    ['Listener', 'Address', 'URL'],
    (a.listeners ?? []).map((l): Cell[] => [l.name, l.address, l.url ? { html: el('span', { class: 'mono' }, esc(l.url)) } : '']),
  )
  let cert: string
  if (!a.certificate) cert = p('Certificate: none (HTTPS is off).', 'mute')
  else {
    const c = a.certificate
    const days = Math.floor((Date.parse(c.notAfter) - d.now.getTime()) / 86_400_000)
    const cls = days < 0 ? 'bad' : days <= 14 ? 'bad' : days <= 30 ? 'warn' : 'ok'
    const left = days < 0 ? 'EXPIRED' : `${plural(days, 'day')} left`
    cert = p(
      `Certificate ${el('span', { class: 'mono' }, esc(o.redact(c.subject)))} (${esc(c.source)}): expires ${esc(day(c.notAfter))}, <span class="${cls}">${esc(left)}</span>`,
    )
  }
  const up = a.startedAt ? p(`Up since ${esc(a.startedAt.replace(/\.\d+Z$/, 'Z'))}.`, 'mute') : ''
  return section('server', 'Listeners and certificate', up + listeners + cert)
}

const platformChips = (img: ImageSummary): string => {
  if (!img.platforms.length) return el('span', { class: 'mute' }, img.problems.length ? 'unknown' : 'none (artifact)')
  return img.platforms
    .map((pl) =>
      img.completePlatforms.includes(pl)
        ? el('span', { class: 'chip' }, esc(pl))
        : el('span', { class: 'chip bad', title: 'not whole' }, `${esc(pl)} ✗`),
    )
    .join('')
}

const imagesSection = (d: StatusData): string => {
  const inv = d.inventory
  if (!inv) return section('images', 'Images', p('The catalog is not open.', 'bad'))
  const t = inv.totals
  const broken = d.images.filter((i) => i.problems.some(isBreaking))
  const problems = inv.problems ?? []
  const head = p(
    `${plural(t.repositories, 'repository', 'repositories')}, ${plural(t.tags, 'tag')}, ${esc(humanBytes(t.imageBytes))}; ` +
      (broken.length ? `<span class="bad">${plural(broken.length, 'image')} broken</span>` : '<span class="ok">every image whole</span>') +
      (inv.scan.complete ? '' : ' <span class="warn">(first scan still running)</span>'),
  )
  const rows = d.images.slice(0, MAX_ROWS).map((img): Cell[] => {
    const b = img.problems.filter(isBreaking).length
    const f = img.problems.length - b
    const state = b
      ? { html: `<span class="bad">broken: ${esc(plural(b, 'problem'))}</span>` }
      : f
        ? { html: `<span class="warn">${esc(plural(f, 'foreign layer'))} not held</span>` }
        : { html: '<span class="ok">whole</span>' }
    return [mono(img.image), { html: platformChips(img) }, state]
  })
  const list = problems.length
    ? `<h3>Problems</h3><ul class="lines">${problems
        .slice(0, MAX_ROWS)
        .map((pr) => `<li class="${isBreaking(pr) ? 'bad' : 'warn'}">${esc(formatImageProblem(pr))}</li>`)
        .join('')}</ul>${more(problems.length - MAX_ROWS, 'GET /inventory')}`
    : ''
  return section(
    'images',
    'Images',
    head + list + table(['Image', 'Platforms', 'State'], rows) + more(d.images.length - MAX_ROWS, 'GET /inventory'),
  )
}

/** A tree problem as the catalog keeps it (JSON of {kind, file, detail}, or text) → `missing /x.rpm: listed in …`. */
const treeProblem = (text: string): string => {
  try {
    const p = JSON.parse(text) as { kind?: unknown; file?: unknown; detail?: unknown }
    if (typeof p.kind === 'string' && typeof p.file === 'string')
      return `${p.kind} ${p.file}${typeof p.detail === 'string' ? `: ${p.detail}` : ''}`
  } catch {
    // plain text
  }
  return text
}

const filesSection = (d: StatusData, o: RenderOptions): string => {
  const inv = d.inventory
  if (!inv) return section('files', 'Files and package trees', p('The catalog is not open.', 'bad'))
  const roots = table(
    o.showPaths ? ['Served at', 'Folder', 'Files', 'Size'] : ['Served at', 'Files', 'Size'],
    inv.files.map((f): Cell[] =>
      o.showPaths ? [mono(f.prefix), mono(f.path), f.count, humanBytes(f.bytes)] : [mono(f.prefix), f.count, humanBytes(f.bytes)],
    ),
  )
  const trees = d.trees.length
    ? table(
        ['Tree', 'Kind', 'Packages', 'Check'],
        d.trees.map((tr): Cell[] => [
          mono(tr.path),
          tr.kind,
          tr.packages,
          tr.ok
            ? badge(true)
            : {
                html: `<span class="bad">FAILED</span> ${tr.problems
                  .slice(0, 5)
                  .map((x) => `<div class="mono">${esc(o.redact(treeProblem(x)))}</div>`)
                  .join(
                    '',
                  )}${tr.problems.length > 5 ? `<div class="mute">… and ${tr.problems.length - 5} more (outpost verify --repos)</div>` : ''}`,
              },
        ]),
      )
    : p('No yum or apt tree under the file roots.', 'mute')
  return section(
    'files',
    'Files and package trees',
    p(`${plural(inv.totals.files, 'file')}, ${esc(humanBytes(inv.totals.fileBytes))} in ${plural(inv.files.length, 'root')}.`) +
      roots +
      '<h3>Package trees</h3>' +
      trees,
  )
}

const STATUS_CLASS = { present: 'ok', missing: 'bad', incomplete: 'bad' } as const

const requirementsSection = (d: StatusData, o: RenderOptions): string => {
  const r = d.requirements
  if (r.error) return section('requirements', 'Requirements', p(esc(o.redact(r.error)), 'bad'))
  const report = r.report
  const intro = r.configured
    ? ''
    : p(
        'No requirements configured (<code>requirements:</code> in the configuration, or <code>outpost check</code>): every image served is held to the platforms of the nodes.',
        'mute',
      )
  if (!report) return section('requirements', 'Requirements', intro + p('Not checked yet.', 'mute'))
  const pl = report.platforms
  const needed = pl.needed.length
    ? `Platforms needed: ${pl.needed
        .map((x) => {
          const nodes = pl.nodes.filter((n) => n.platform === x).map((n) => n.hostname)
          const from = [...(pl.configured.includes(x) ? ['configured'] : []), ...(nodes.length ? [`${plural(nodes.length, 'node')}`] : [])]
          return `${el('span', { class: 'chip' }, esc(x))} <span class="mute">${esc(from.join(', '))}</span>`
        })
        .join(' ')}`
    : '<span class="mute">No platform needed: none configured and no node has checked in.</span>'
  const s = report.summary
  const summary = p(
    `<span class="${report.ok ? 'ok' : 'bad'}">${s.present} present, ${s.missing} missing, ${s.incomplete} incomplete</span> · checked ${esc(report.checkedAt.replace(/\.\d+Z$/, 'Z'))}`,
  )
  const order = { missing: 0, incomplete: 1, present: 2 } as const
  const sorted = [...report.requirements].sort((a, b) => order[a.status] - order[b.status])
  const rows = sorted
    .slice(0, MAX_ROWS)
    .map((x): Cell[] => [
      mono(x.requirement),
      { html: el('span', { class: STATUS_CLASS[x.status] }, esc(x.status)) },
      [
        x.found && x.found !== x.requirement ? x.found : '',
        x.detail ?? '',
        x.status === 'present' && x.platforms?.length ? x.platforms.join(', ') : '',
      ]
        .filter(Boolean)
        .join('; '),
      x.source ?? '',
    ])
  return section(
    'requirements',
    'Requirements',
    intro +
      summary +
      p(needed) +
      table(['Requirement', 'Status', 'Found / why', 'From'], rows) +
      more(sorted.length - MAX_ROWS, 'outpost check'),
  )
}

const FLAG_WORDS: Record<string, string> = { 'clock-skew': 'SKEW', stale: 'STALE', arch: 'ARCH' }

const nodesSection = (d: StatusData): string => {
  const v = d.nodes
  if (!v) return section('nodes', 'Nodes', p('Not known here.', 'mute'))
  if (!v.count)
    return section(
      'nodes',
      'Nodes',
      p('No node has checked in yet: <code>curl -fsSL &lt;outpost&gt;/setup/bootstrap.sh | sh</code>', 'mute'),
    )
  const rows = v.nodes.slice(0, MAX_ROWS).map((n): Cell[] => {
    const flags = n.flags
      .map((f) => {
        const word = FLAG_WORDS[f] ?? f.toUpperCase()
        if (f === 'arch' && n.archMissing) {
          const a = n.archMissing
          return `<span class="bad">ARCH</span> <span class="mute">${esc(a.count)} image(s) lack ${esc(a.platform)}:</span> ${a.images
            .slice(0, 5)
            .map((i) => el('span', { class: 'chip mono' }, esc(i)))
            .join('')}${a.count > 5 ? ' …' : ''}`
        }
        return `<span class="bad">${esc(word)}</span>`
      })
      .join(' ')
    return [
      mono(n.hostname),
      n.ansibleHost ?? '',
      [n.os?.name ?? [n.os?.id, n.os?.version].filter(Boolean).join(' '), n.kernel].filter(Boolean).join(' · '),
      n.arch ?? '',
      `${formatAge(n.secondsSinceSeen)} (${n.lastSeen.replace(/\.\d+Z$/, 'Z')})`,
      formatOffset(n.clockOffsetMs, n.clockUncertaintyMs),
      n.groups.join(', '),
      { html: flags || '<span class="ok">ok</span>' },
    ]
  })
  const t = v.thresholds
  return section(
    'nodes',
    'Nodes',
    p(
      `${plural(v.count, 'node')} checked in, ${v.flagged ? `<span class="bad">${v.flagged} flagged</span>` : 'none flagged'}. <span class="mute">SKEW: clock off by more than ${esc(t.offsetMs)} ms; STALE: no check-in for ${esc(t.staleAfterS)} s; ARCH: an image the node needs lacks its architecture.</span>`,
    ) +
      table(['Host', 'Address', 'OS', 'Arch', 'Last seen', 'Clock offset', 'Groups', 'Flags'], rows) +
      more(v.nodes.length - MAX_ROWS, 'GET /nodes'),
  )
}

const TOP_MISSES = 20

const missesSection = (d: StatusData): string => {
  if (!d.misses.length) return section('misses', 'Top misses', p('Nothing asked for has been missing.', 'ok'))
  const rows = d.misses
    .slice(0, TOP_MISSES)
    .map((m): Cell[] => [m.kind, m.count, m.lastSeen.replace(/\.\d+Z$/, 'Z'), m.client ?? '', mono(m.ref), m.userAgent ?? ''])
  const pull = (id: string, title: string, refs: string[], url: string): string =>
    refs.length
      ? `<h3>${esc(title)}</h3><p class="mute">${esc(plural(refs.length, 'line'))}, as <a href="${esc(url)}">${esc(url)}</a> gives them. <button type="button" data-copy="${id}" hidden>Copy</button></p><textarea id="${id}" readonly rows="${Math.min(12, refs.length + 1)}" spellcheck="false">${esc(refs.join('\n'))}</textarea>`
      : ''
  const images = d.misses.filter((m) => m.kind === 'image').map((m) => m.ref)
  const files = d.misses.filter((m) => m.kind === 'file').map((m) => m.ref)
  return section(
    'misses',
    'Top misses',
    p(`${plural(d.misses.length, 'distinct miss', 'distinct misses')}; the most asked for:`) +
      table(['Kind', 'Count', 'Last seen', 'Client', 'What', 'User agent'], rows) +
      pull('pull-images', 'Images to add to the next bundle (images.list)', images.slice(0, 1000), '/inventory/misses?format=images') +
      pull('pull-files', 'Files to add to the next bundle', files.slice(0, 1000), '/inventory/misses?format=files'),
  )
}

export const renderStatusPage = (d: StatusData, o: RenderOptions): string => {
  const ready = d.readiness.ready
  const version = d.about?.version ? ` ${d.about.version}` : ''
  const title = `Outpost${version}: ${ready ? 'ready' : 'NOT READY'}`
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="refresh" content="${o.refreshS}">`,
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<header><h1>Outpost${esc(version)}</h1><p class="state ${ready ? 'ok' : 'bad'}" id="state">${ready ? 'Ready' : 'NOT READY'}</p>`,
    `<p class="mute">As of ${esc(d.now.toISOString().replace(/\.\d+Z$/, 'Z'))}; this page reloads every ${o.refreshS} s. For programs: <a href="/readyz?verbose">/readyz?verbose</a> · <a href="/inventory">/inventory</a> · <a href="/inventory/requirements">/inventory/requirements</a> · <a href="/nodes">/nodes</a> · <a href="/inventory/misses">/inventory/misses</a></p>`,
    `<nav>${[
      ['readiness', 'Readiness'],
      ['server', 'Listeners'],
      ['images', 'Images'],
      ['files', 'Files'],
      ['requirements', 'Requirements'],
      ['nodes', 'Nodes'],
      ['misses', 'Misses'],
    ]
      .map(([id, name]) => `<a href="#${id}">${name}</a>`)
      .join(' ')}</nav></header>`,
    '<main>',
    readinessSection(d, o),
    serverSection(d, o),
    imagesSection(d),
    filesSection(d, o),
    requirementsSection(d, o),
    nodesSection(d),
    missesSection(d),
    '</main>',
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n')
}

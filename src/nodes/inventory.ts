/**
 * Views of the checked-in nodes: their status (clock skew, staleness), the
 * JSON and plain-text listings of `GET /nodes`, and the kubespray inventory
 * in INI and YAML.
 *
 * Kubespray's groups: kube_control_plane, kube_node, etcd, calico_rr, and
 * k8s_cluster whose children are kube_control_plane, kube_node and
 * calico_rr (kubespray inventory/sample). A node names its groups in its
 * `role` / `roles` / `groups` label; a node that names none is a kube_node.
 * When no node asks for etcd, etcd runs on the control plane (kubespray's
 * usual layout), so the inventory is complete as rendered. The node's other
 * labels become `node_labels`, which kubespray applies to the Kubernetes
 * node.
 */
import { stringify as toYaml } from 'yaml'
import { GROUP_LABELS, groupsOf } from './checkin.js'
import type { NodeRecord } from './store.js'
import { table } from './text.js'

export interface Thresholds {
  offsetMs: number
  staleAfterS: number
}

/** `arch`: an image the node needs lacks its architecture (added by src/bundle/node-flags.ts). */
export type NodeFlag = 'clock-skew' | 'stale' | 'arch'

export const DEFAULT_GROUP = 'kube_node'
export const K8S_CLUSTER_CHILDREN = ['kube_control_plane', 'kube_node', 'calico_rr'] as const
const STANDARD_GROUPS = ['kube_control_plane', 'etcd', 'kube_node', 'calico_rr'] as const

export const flagsOf = (node: NodeRecord, nowMs: number, t: Thresholds): NodeFlag[] => {
  const flags: NodeFlag[] = []
  // Skew only when certain: beyond the threshold even at the edge of the estimate's uncertainty.
  const checkinSkew = node.clockOffsetMs !== null && Math.abs(node.clockOffsetMs) - (node.clockUncertaintyMs ?? 0) > t.offsetMs
  const ntpSkew = node.ntpOffsetMs !== null && Math.abs(node.ntpOffsetMs) > t.offsetMs
  if (checkinSkew || ntpSkew) flags.push('clock-skew')
  if (nowMs - node.lastSeenMs > t.staleAfterS * 1000) flags.push('stale')
  return flags
}

/** The address Ansible reaches the node on: the first it reported, else the check-in's source. */
export const ansibleHostOf = (node: NodeRecord): string | null => {
  const first = node.report.addresses[0] ?? node.remoteAddress
  if (!first) return null
  // Node's sockets report IPv4 peers of a dual-stack listener as ::ffff:a.b.c.d.
  return first.startsWith('::ffff:') && first.includes('.') ? first.slice(7) : first
}

export const nodeGroups = (node: NodeRecord): string[] => {
  const groups = groupsOf(node.report.labels)
  return groups.length ? groups : [DEFAULT_GROUP]
}

/** Labels other than the group labels: kubespray's `node_labels`. */
export const nodeLabelsOf = (node: NodeRecord): Record<string, string> =>
  Object.fromEntries(Object.entries(node.report.labels).filter(([k]) => !(GROUP_LABELS as readonly string[]).includes(k)))

const round = (n: number | null, digits = 1): number | null => (n === null ? null : Math.round(n * 10 ** digits) / 10 ** digits)

export interface NodeView {
  hostname: string
  ansibleHost: string | null
  addresses: string[]
  remoteAddress: string | null
  machineId: string | null
  os: NodeRecord['report']['os'] | null
  arch: string | null
  kernel: string | null
  runtime: NodeRecord['report']['runtime'] | null
  labels: Record<string, string>
  groups: string[]
  firstSeen: string
  lastSeen: string
  lastSeenMs: number
  secondsSinceSeen: number
  checkins: number
  clockOffsetMs: number | null
  clockUncertaintyMs: number | null
  ntpOffsetMs: number | null
  flags: NodeFlag[]
  /** With the `arch` flag: the node's platform and the images lacking it (the first few, and how many). */
  archMissing?: { platform: string; images: string[]; count: number }
}

export interface NodesView {
  now: string
  thresholds: Thresholds
  count: number
  flagged: number
  nodes: NodeView[]
}

export const nodeView = (node: NodeRecord, nowMs: number, t: Thresholds): NodeView => ({
  hostname: node.report.hostname,
  ansibleHost: ansibleHostOf(node),
  addresses: node.report.addresses,
  remoteAddress: node.remoteAddress,
  machineId: node.report.machineId ?? null,
  os: node.report.os ?? null,
  arch: node.report.arch ?? null,
  kernel: node.report.kernel ?? null,
  runtime: node.report.runtime ?? null,
  labels: node.report.labels,
  groups: nodeGroups(node),
  firstSeen: new Date(node.firstSeenMs).toISOString(),
  lastSeen: new Date(node.lastSeenMs).toISOString(),
  lastSeenMs: node.lastSeenMs,
  secondsSinceSeen: Math.max(0, Math.round((nowMs - node.lastSeenMs) / 1000)),
  checkins: node.checkins,
  clockOffsetMs: round(node.clockOffsetMs),
  clockUncertaintyMs: round(node.clockUncertaintyMs),
  ntpOffsetMs: round(node.ntpOffsetMs, 3),
  flags: flagsOf(node, nowMs, t),
})

export const nodesView = (nodes: readonly NodeRecord[], nowMs: number, t: Thresholds): NodesView => {
  const views = nodes.map((n) => nodeView(n, nowMs, t))
  return {
    now: new Date(nowMs).toISOString(),
    thresholds: t,
    count: views.length,
    flagged: views.filter((v) => v.flags.length).length,
    nodes: views,
  }
}

// ---- plain text -----------------------------------------------------------

/** `+3 ms`, `-1.25 s`, `+0.4 ms`; `±` the uncertainty when there is one. */
export const formatOffset = (ms: number | null, uncertaintyMs: number | null = null): string => {
  if (ms === null) return '-'
  const sign = ms < 0 ? '-' : '+'
  const abs = Math.abs(ms)
  const value =
    abs >= 10_000
      ? `${(abs / 1000).toFixed(0)} s`
      : abs >= 1000
        ? `${(abs / 1000).toFixed(2)} s`
        : abs >= 10
          ? `${abs.toFixed(0)} ms`
          : `${abs.toFixed(1)} ms`
  return `${sign}${value}${uncertaintyMs && uncertaintyMs >= 1 ? ` ±${uncertaintyMs >= 1000 ? `${(uncertaintyMs / 1000).toFixed(1)} s` : `${uncertaintyMs.toFixed(0)} ms`}` : ''}`
}

export const formatAge = (seconds: number): string => {
  if (seconds < 60) return `${seconds}s ago`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`
  return `${Math.floor(seconds / 86_400)}d ago`
}

export const renderNodesText = (view: NodesView): string => {
  const { offsetMs, staleAfterS } = view.thresholds
  const head = `# ${view.count} node(s), ${view.flagged} flagged; ${view.now}. Flags: SKEW = clock off by more than ${offsetMs} ms, STALE = no check-in for ${staleAfterS} s.`
  if (!view.nodes.length) return `${head}\n# No node has checked in yet: curl -fsSL <outpost>/setup/bootstrap.sh | sh\n`
  const header = ['HOSTNAME', 'ADDRESS', 'OS', 'ARCH', 'RUNTIME', 'LAST SEEN', 'CLOCK', 'NTP', 'GROUPS', 'FLAGS']
  const rows: string[][] = []
  for (const n of view.nodes) {
    rows.push([
      n.hostname,
      n.ansibleHost ?? '-',
      [n.os?.id, n.os?.version].filter(Boolean).join(' ') || '-',
      n.arch ?? '-',
      [n.runtime?.name, n.runtime?.version].filter(Boolean).join(' ') || '-',
      formatAge(n.secondsSinceSeen),
      formatOffset(n.clockOffsetMs, n.clockUncertaintyMs),
      formatOffset(n.ntpOffsetMs),
      n.groups.join(','),
      n.flags.map((f) => (f === 'clock-skew' ? 'SKEW' : f.toUpperCase())).join(','),
    ])
  }
  const arch = view.nodes.flatMap((n) =>
    n.archMissing
      ? [
          `# ARCH ${n.hostname}: ${n.archMissing.count} image(s) lack ${n.archMissing.platform}: ${n.archMissing.images.join(', ')}${n.archMissing.count > n.archMissing.images.length ? ', …' : ''}`,
        ]
      : [],
  )
  return `${head}\n${table(header, rows)}\n${arch.map((l) => `${l}\n`).join('')}`
}

// ---- kubespray inventory ----------------------------------------------------

interface InventoryHost {
  name: string
  vars: Record<string, string | Record<string, string>>
  groups: string[]
}

interface KubesprayInventory {
  hosts: InventoryHost[]
  /** Group → member host names, in a stable order: kubespray's groups first. */
  groups: Map<string, string[]>
  /** etcd taken from the control plane (no node asked for etcd). */
  etcdFromControlPlane: boolean
}

const inventoryOf = (nodes: readonly NodeRecord[]): KubesprayInventory => {
  const hosts: InventoryHost[] = nodes.map((n) => {
    const vars: InventoryHost['vars'] = {}
    const address = ansibleHostOf(n)
    if (address) {
      vars.ansible_host = address
      vars.ip = address
    }
    const labels = nodeLabelsOf(n)
    if (Object.keys(labels).length) vars.node_labels = labels
    return { name: n.report.hostname, vars, groups: nodeGroups(n) }
  })
  const groups = new Map<string, string[]>(STANDARD_GROUPS.map((g) => [g, []]))
  for (const h of hosts) for (const g of h.groups) groups.set(g, [...(groups.get(g) ?? []), h.name])
  const etcdFromControlPlane = groups.get('etcd')!.length === 0 && groups.get('kube_control_plane')!.length > 0
  return { hosts, groups, etcdFromControlPlane }
}

const HEADER = [
  "Kubespray inventory from Outpost's node check-ins.",
  'Groups come from each node\'s "role" (or "roles", "groups") label; a node without one is in kube_node.',
  'With no node in etcd, etcd runs on kube_control_plane.',
]

const iniValue = (v: string | Record<string, string>): string =>
  // Ansible reads INI host variables as Python literals: a JSON object of strings is one.
  typeof v === 'string' ? v : `'${JSON.stringify(v)}'`

export const renderInventoryIni = (nodes: readonly NodeRecord[], nowMs: number, t: Thresholds): string => {
  const inv = inventoryOf(nodes)
  const lines = [...HEADER.map((l) => `# ${l}`), `# ${new Date(nowMs).toISOString()}`]
  for (const n of nodes) {
    const flags = flagsOf(n, nowMs, t)
    if (flags.length) lines.push(`# ${n.report.hostname}: ${flags.join(', ')}`)
  }
  lines.push('', '[all]')
  for (const h of inv.hosts) lines.push([h.name, ...Object.entries(h.vars).map(([k, v]) => `${k}=${iniValue(v)}`)].join(' '))
  for (const [group, members] of inv.groups) {
    if (group === 'etcd' && inv.etcdFromControlPlane) {
      lines.push('', '[etcd:children]', 'kube_control_plane')
      continue
    }
    lines.push('', `[${group}]`, ...members)
  }
  lines.push('', '[k8s_cluster:children]', ...K8S_CLUSTER_CHILDREN, '')
  return lines.join('\n')
}

export const renderInventoryYaml = (nodes: readonly NodeRecord[], nowMs: number, t: Thresholds): string => {
  const inv = inventoryOf(nodes)
  const children: Record<string, unknown> = {}
  for (const [group, members] of inv.groups) {
    if (group === 'etcd' && inv.etcdFromControlPlane) {
      children.etcd = { children: { kube_control_plane: null } }
      continue
    }
    children[group] = { hosts: Object.fromEntries(members.map((m) => [m, null])) }
  }
  children.k8s_cluster = { children: Object.fromEntries(K8S_CLUSTER_CHILDREN.map((g) => [g, null])) }
  const doc = { all: { hosts: Object.fromEntries(inv.hosts.map((h) => [h.name, h.vars])), children } }
  const comments = [...HEADER, new Date(nowMs).toISOString()]
  for (const n of nodes) {
    const flags = flagsOf(n, nowMs, t)
    if (flags.length) comments.push(`${n.report.hostname}: ${flags.join(', ')}`)
  }
  return `${comments.map((c) => `# ${c}`).join('\n')}\n${toYaml(doc, { nullStr: '' })}`
}

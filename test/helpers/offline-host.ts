/**
 * A stand-in for an air-gapped machine without Node, for the release test: a network
 * namespace with only loopback and a mount namespace of its own (`unshare --net --mount`),
 * in which
 *   - the system's `node` executables are covered by an empty file (they cannot run);
 *   - /usr, /etc, /opt and /var are read-only (so an install under a prefix provably
 *     writes nowhere else), except the folder `work` lives in;
 *   - commands run with `env -i`, PATH holding only links to the tools asked for.
 * A holder process keeps the namespaces; commands join them with `nsenter`. Needs root.
 * Every process is stopped by its own PID.
 */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { requireTool, run, startProcess, waitFor, type RunResult, type Spawned } from './procs.js'
import { which } from './tools.js'

export interface OfflineHost {
  /** PATH inside: links to the tools asked for, nothing else. */
  path: string
  env: NodeJS.ProcessEnv
  /** Runs a command inside (by absolute path, or a tool on PATH). */
  run(cmd: string, args: string[], timeoutMs?: number): Promise<RunResult>
  /** Starts a long-running command inside. */
  start(cmd: string, args: string[]): Spawned
  /** Runs a command inside with the host's PATH (mount, systemd-analyze: set-up, not the thing tested). */
  runAsHost(cmd: string, args: string[]): Promise<RunResult>
  /**
   * Makes `dirs` (/etc, /opt, /usr…) writable inside, every write landing in `upper/<name>`
   * (overlays on a tmpfs), so a real install can run; the system's Node stays covered.
   */
  overlay(dirs: string[], upper: string): Promise<void>
  stop(): Promise<void>
}

export const startOfflineHost = async (work: string, tools: Record<string, string>): Promise<OfflineHost> => {
  const unshare = requireTool('unshare', 'util-linux')
  const nsenter = requireTool('nsenter', 'util-linux')
  requireTool('ip', 'iproute2')
  requireTool('mount', 'mount')
  if (process.getuid && process.getuid() !== 0) throw new Error('the offline host makes network and mount namespaces: it needs root')

  const bin = join(work, 'tools')
  mkdirSync(bin, { recursive: true })
  for (const [tool, pkg] of Object.entries(tools)) symlinkSync(requireTool(tool, pkg), join(bin, tool))
  const hidden = join(work, 'no-node')
  writeFileSync(hidden, '')
  const nodes = [...new Set([process.execPath, which('node'), which('nodejs')].filter((p): p is string => !!p).map((p) => realpathSync(p)))]
  const home = join(work, 'home')
  const tmp = join(work, 'tmp')
  mkdirSync(home, { recursive: true })
  mkdirSync(tmp, { recursive: true })
  const readOnly = ['/usr', '/etc', '/opt', '/var'].filter((d) => !`${work}/`.startsWith(`${d}/`))

  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`
  const setup = [
    'set -e',
    'ip link set lo up',
    `for d in ${readOnly.map(q).join(' ')}; do [ -d "$d" ] || continue; mount --rbind "$d" "$d"; mount -o remount,bind,ro "$d"; done`,
    ...nodes.map((n) => `mount --bind ${q(hidden)} ${q(n)}`),
    'echo offline host ready',
    'exec sleep 3600',
  ].join('\n')
  const holder = startProcess(unshare, ['--net', '--mount', '--', 'sh', '-c', setup])
  await waitFor(
    () => holder.output().includes('offline host ready') || holder.child.exitCode !== null,
    `the namespaces: ${holder.output()}`,
    15_000,
  )
  if (holder.child.exitCode !== null) throw new Error(`setting up the offline host failed: ${holder.output()}`)
  const pid = String(holder.child.pid)

  const env: NodeJS.ProcessEnv = { PATH: bin, HOME: home, TMPDIR: tmp, LANG: 'C.UTF-8' }
  const envArgs = ['env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)]
  const enter = (cmd: string, args: string[]) => ['--target', pid, '--net', '--mount', '--', ...envArgs, cmd, ...args]
  return {
    path: bin,
    env,
    run: (cmd, args, timeoutMs = 60_000) => run(nsenter, enter(cmd, args), { timeoutMs }),
    start: (cmd, args) => startProcess(nsenter, enter(cmd, args)),
    runAsHost: (cmd, args) => run(nsenter, ['--target', pid, '--net', '--mount', '--', cmd, ...args]),
    overlay: async (dirs, upper) => {
      const script = [
        'set -e',
        `mkdir -p ${q(upper)}`,
        `mount -t tmpfs tmpfs ${q(upper)}`,
        ...dirs.map((d) => {
          const name = d.replaceAll('/', '')
          const up = q(join(upper, name))
          const wk = q(join(upper, `.${name}-work`))
          return `mkdir -p ${up} ${wk}; mount -t overlay overlay -o lowerdir=${q(d)},upperdir=${up},workdir=${wk} ${q(d)}`
        }),
        // An overlay shows the lower folder without what was mounted inside it.
        ...nodes.map((n) => `mount --bind ${q(hidden)} ${q(n)}`),
      ].join('\n')
      const r = await run(nsenter, ['--target', pid, '--net', '--mount', '--', 'sh', '-c', script])
      if (r.status !== 0) throw new Error(`overlays on ${dirs.join(', ')}: ${r.stdout}${r.stderr}`)
    },
    stop: () => holder.stop(),
  }
}

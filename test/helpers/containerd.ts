/**
 * A private containerd for end-to-end pulls: its own root, state dir and
 * socket under a temp dir, the CRI plugin off, pulls with the native
 * snapshotter. Needs root (it unpacks layers with their owners).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { requireTool, runOk, startProcess, waitFor, run, type Spawned, type RunResult } from './procs.js'

export interface Containerd {
  address: string
  hostsDir: string
  proc: Spawned
  /** Runs `ctr --address … -n NAMESPACE args…`, failing on a non-zero exit. */
  ctr(args: string[]): Promise<RunResult>
  /** Writes `<hostsDir>/<registry>/hosts.toml` pointing `registry` at `mirror` (URL). */
  mirror(registry: string, mirror: string, extra?: { ca?: string }): void
  /** `ctr images pull --hosts-dir` with the native snapshotter. */
  pull(ref: string, extraArgs?: string[]): Promise<RunResult>
  stop(): Promise<void>
}

export const startContainerd = async (dir: string, namespace = 'outpost-e2e'): Promise<Containerd> => {
  const containerd = requireTool('containerd', 'containerd')
  const ctrBin = requireTool('ctr', 'containerd')
  if (process.getuid && process.getuid() !== 0) throw new Error('the containerd end-to-end test runs containerd itself and needs root')
  const address = join(dir, 'containerd.sock')
  const hostsDir = join(dir, 'certs.d')
  mkdirSync(hostsDir, { recursive: true })
  const config = join(dir, 'containerd.toml')
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  )
  const proc = startProcess(containerd, ['--config', config])
  const ctr = (args: string[]) => runOk(ctrBin, ['--address', address, '-n', namespace, ...args])
  await waitFor(
    async () => (await run(ctrBin, ['--address', address, 'version'])).status === 0,
    `containerd to start: ${proc.output()}`,
    20000,
  )
  return {
    address,
    hostsDir,
    proc,
    ctr,
    mirror(registry, mirrorUrl, extra = {}) {
      const d = join(hostsDir, registry)
      mkdirSync(d, { recursive: true })
      // `server` is the mirror too: a miss must not fall back to the real
      // upstream (no lookups leave this machine), as on an air-gapped node.
      writeFileSync(
        join(d, 'hosts.toml'),
        [
          `server = "${mirrorUrl}"`,
          '',
          `[host."${mirrorUrl}"]`,
          '  capabilities = ["pull", "resolve"]',
          ...(extra.ca ? [`  ca = "${extra.ca}"`] : []),
          '',
        ].join('\n'),
      )
    },
    pull: (ref, extraArgs = []) => ctr(['images', 'pull', '--hosts-dir', hostsDir, '--snapshotter', 'native', ...extraArgs, ref]),
    stop: () => proc.stop(),
  }
}

/**
 * Child processes for end-to-end tests: real clients and reference servers.
 * Every process started here is stopped by its own PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Fails (never skips) with what to install when a tool is missing. */
export const requireTool = (tool: string, debianPackage: string): string => {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' })
  const path = r.stdout.trim()
  if (r.status !== 0 || !path) {
    throw new Error(`${tool} is not installed: this end-to-end test needs it (apt-get install -y ${debianPackage}; .ci/run installs it)`)
  }
  return path
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })

export const waitFor = async (check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

export const portOpen = (port: number, host = '127.0.0.1'): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, host)
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })

export interface Spawned {
  child: ChildProcess
  output: () => string
  stop: () => Promise<void>
}

/** Starts a long-running process; `stop` sends SIGTERM to its PID, then SIGKILL. */
export const startProcess = (cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Spawned => {
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (c) => (out = (out + c).slice(-20000)))
  child.stderr!.on('data', (c) => (out = (out + c).slice(-20000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

export interface RunResult {
  status: number
  stdout: string
  stderr: string
}

/** Runs a command to completion (async, so in-process servers keep serving). */
export const run = (
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ status: code ?? -1, stdout, stderr })
    })
    // A command that exits without reading its input must not fail the test with EPIPE.
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
  })

/** Runs a command and fails the test with its output when it fails. */
export const runOk = async (cmd: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<RunResult> => {
  const r = await run(cmd, args, options)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`)
  return r
}

/** The reference registry:2 (Debian's docker-registry) on a loopback port over `rootDir`. */
export const startDockerRegistry = async (dir: string, rootDir: string): Promise<Spawned & { hostPort: string }> => {
  const bin = requireTool('docker-registry', 'docker-registry')
  const port = await freePort()
  const config = join(dir, 'docker-registry.yml')
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${rootDir}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  )
  const proc = startProcess(bin, ['serve', config])
  await waitFor(() => portOpen(port), `docker-registry on port ${port}: ${proc.output()}`)
  return { ...proc, hostPort: `127.0.0.1:${port}` }
}

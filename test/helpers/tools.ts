/**
 * Running real tools from end-to-end tests. A missing tool fails the test
 * with the Debian package to install; it never skips it, so CI cannot pass
 * by not testing.
 *
 * Tools run asynchronously: the server under test lives in this process, so
 * a synchronous child would block the very server it talks to.
 */
import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import assert from 'node:assert/strict'

export const which = (name: string): string | null => {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
    const p = join(dir, name)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      // next
    }
  }
  return null
}

/** Asserts that each tool is installed; the message names the package that has it. */
export const requireTools = (tools: Record<string, string>): void => {
  const missing = Object.entries(tools).filter(([tool]) => !which(tool))
  if (missing.length) {
    assert.fail(
      `missing tools for this end-to-end test: ${missing.map(([t, pkg]) => `${t} (Debian package ${pkg})`).join(', ')}. ` +
        `Install with: apt-get install -y ${[...new Set(missing.map(([, pkg]) => pkg))].join(' ')}`,
    )
  }
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
}

/** Runs a command to completion; never throws on a non-zero exit. */
export const run = (cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })
    })
  })

/** Runs a command and fails with its output when it exits non-zero. */
export const runOk = async (cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> => {
  const r = await run(cmd, args, options)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`)
  return r
}

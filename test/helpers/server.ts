/**
 * Starts a real Outpost in-process on loopback ephemeral ports, for HTTP and
 * end-to-end tests. Always pair with `t.after(() => s.close())`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, startServer, silentLogger, createLogger, type RunningServer } from '../../src/server/index.js'

export interface TestServer {
  running: RunningServer
  /** http://127.0.0.1:PORT */
  url: string
  /** 127.0.0.1:PORT */
  hostPort: string
  close(): Promise<void>
}

export const tempDir = (prefix = 'outpost-test-'): string => mkdtempSync(join(tmpdir(), prefix))

/** `flags` is a config tree layered over loopback-only defaults. */
export const startTestServer = async (flags: Record<string, unknown> = {}): Promise<TestServer> => {
  const dataDir = tempDir('outpost-data-')
  const listen = { http: '127.0.0.1:0', https: 'off', push: 'off', ntp: 'off', ...((flags.listen as object) ?? {}) }
  const { config } = loadConfig({ env: {}, noDefaultFile: true, flags: { data_dir: dataDir, ...flags, listen } })
  const logger = process.env.OUTPOST_TEST_LOG ? createLogger('debug') : silentLogger()
  const running = await startServer(config, logger)
  const http = running.listeners.find((l) => l.name === 'http')!
  return {
    running,
    url: http.url,
    hostPort: http.url.replace('http://', ''),
    close: async () => {
      await running.close(1000)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

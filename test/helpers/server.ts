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
  /** https://127.0.0.1:PORT when the https listener is on (pass `listen: { https: '127.0.0.1:0' }`). */
  httpsUrl: string | null
  /** 127.0.0.1:PORT of the https listener. */
  httpsHostPort: string | null
  /** The data dir in use (a temporary one unless `data_dir` was given; only a temporary one is removed). */
  dataDir: string
  close(): Promise<void>
}

export const tempDir = (prefix = 'outpost-test-'): string => mkdtempSync(join(tmpdir(), prefix))

/**
 * `flags` is a config tree layered over loopback-only defaults; the https
 * listener is off unless `flags.listen.https` turns it on (certificates cost
 * two RSA keys, ~0.5 s, on first start of a data dir).
 */
export const startTestServer = async (flags: Record<string, unknown> = {}): Promise<TestServer> => {
  const dataDir = tempDir('outpost-data-')
  const listen = { http: '127.0.0.1:0', https: 'off', push: 'off', ntp: 'off', ...((flags.listen as object) ?? {}) }
  const { config } = loadConfig({ env: {}, noDefaultFile: true, flags: { data_dir: dataDir, ...flags, listen } })
  const logger = process.env.OUTPOST_TEST_LOG ? createLogger('debug') : silentLogger()
  let running: RunningServer
  try {
    running = await startServer(config, logger)
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
  const http = running.listeners.find((l) => l.name === 'http')!
  const https = running.listeners.find((l) => l.name === 'https')
  return {
    running,
    url: http.url,
    hostPort: http.url.replace('http://', ''),
    httpsUrl: https?.url ?? null,
    httpsHostPort: https?.url.replace('https://', '') ?? null,
    dataDir: config.data_dir,
    close: async () => {
      await running.close(1000)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Runs inside a private network namespace (`unshare --net`), started by
 * test/e2e/ntp.test.ts: `sntp` (ntpsec's ntpdig) always asks port 123, and
 * only a namespace of our own gives a port 123 that nothing else on the
 * machine holds and no packet leaves. Brings up loopback, starts Outpost
 * with SNTP on 127.0.0.1:123, runs `sntp -j` a few times and prints one JSON
 * line per run on stdout.
 */
import { startTestServer } from './server.js'
import { runOk, run } from './procs.js'

const samples = Number(process.argv[2] ?? 3)
await runOk('ip', ['link', 'set', 'lo', 'up'])
const server = await startTestServer({ listen: { ntp: '127.0.0.1:123' } })
try {
  if (server.running.ntp?.port !== 123) throw new Error('SNTP did not bind 127.0.0.1:123 inside the namespace')
  for (let i = 0; i < samples; i++) {
    const r = await run('sntp', ['-j', '-t', '3', '127.0.0.1'], { timeoutMs: 15_000 })
    process.stdout.write(`${JSON.stringify({ status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() })}\n`)
  }
} finally {
  await server.close()
}

/**
 * A push root served in a process of its own, for tests that kill it:
 *   node --import tsx test/helpers/push-child.ts ROOT
 * prints `listening <url>` when ready. With OUTPOST_TEST_KILL_AT=STEP, the
 * process sends itself SIGKILL right after the writer's first durable step
 * of that name (kill -9 at an exact point of a write).
 */
import { startPushApp } from './push.js'

const [root] = process.argv.slice(2)
if (!root) throw new Error('usage: push-child.ts ROOT')
const killAt = process.env.OUTPOST_TEST_KILL_AT
const app = await startPushApp(root, {
  writer: {
    onStep: (step) => {
      if (step === killAt) process.kill(process.pid, 'SIGKILL')
    },
  },
})
process.stdout.write(`listening ${app.url}\n`)

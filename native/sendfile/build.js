'use strict'
// Builds the addon with node-gyp (from this machine's Node headers; npm's
// `nodedir` names them). A machine that cannot build it still installs:
// this prints one line, keeps node-gyp's output in build-error.log, and
// exits 0; Outpost then sends bodies on its JavaScript path.
const { spawnSync } = require('node:child_process')
const { existsSync, rmSync, writeFileSync } = require('node:fs')
const { dirname, join } = require('node:path')

const say = (line) => process.stderr.write(`outpost-sendfile: ${line}\n`)
const log = join(__dirname, 'build-error.log')
rmSync(log, { force: true })

if (process.platform !== 'linux') {
  say(`not built (sendfile is used on Linux only, this is ${process.platform}): large bodies take the JavaScript path`)
  process.exit(0)
}
// npm names its own node-gyp when it runs this; else the one beside npm, else node-gyp on PATH.
const besideNpm = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')
const gyp = process.env.npm_config_node_gyp || (existsSync(besideNpm) ? besideNpm : null)
// The headers of the Node that runs this, when it carries them (as npm's `nodedir` would say): no download.
const prefix = join(dirname(process.execPath), '..')
const headers = !process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/common.gypi')) ? [`--nodedir=${prefix}`] : []
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild', ...headers]] : ['node-gyp', ['rebuild', ...headers]]
const r = spawnSync(cmd, args, { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
let problem = r.error ? r.error.message : r.status !== 0 ? `node-gyp exited with ${r.status}` : null
if (!problem) {
  try {
    require('./index.js')
  } catch (err) {
    problem = `built but does not load: ${err.message}`
  }
}
if (problem) {
  try {
    writeFileSync(log, `${problem}\n\n${r.stdout ?? ''}\n${r.stderr ?? ''}`)
  } catch {
    // The line below is what matters.
  }
  say(`not built (${problem}; see ${log}): large bodies take the JavaScript path`)
}
process.exit(0)

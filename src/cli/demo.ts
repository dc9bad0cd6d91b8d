/** `outpost demo`: build the small built-in demo bundle and serve it on loopback. */
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { buildDemoBundle, DEMO_IMAGES } from '../demo/index.js'
import { FLAG_KEYS, addConfigOptions, flagAttribute, type ConfigFlags } from './options.js'
import { writeStderr } from './log-output.js'
import { failStartup } from './run.js'
import { serve } from './serve.js'

/** The demo listens on loopback only, on these addresses unless flags say otherwise. */
const DEMO_LISTEN = { http: '127.0.0.1:8080', https: '127.0.0.1:8443', push: '127.0.0.1:5000', ntp: '127.0.0.1:11123' }

export const addDemo = (program: Command): void => {
  addConfigOptions(
    program.command('demo').description('build the small built-in demo bundle under ./.outpost and serve it on loopback'),
    FLAG_KEYS,
    {
      bundle: '<data_dir>/demo-bundle, built on start',
      data_dir: './.outpost',
      ...Object.fromEntries(Object.entries(DEMO_LISTEN).map(([k, v]) => [`listen.${k}`, v])),
    },
  ).action(async (flags: ConfigFlags) => {
    try {
      const dataDir = resolve((flags[flagAttribute('data_dir')] as string | undefined) ?? '.outpost')
      const bundle = await buildDemoBundle(join(dataDir, 'demo-bundle'))
      const defaults = {
        bundle,
        data_dir: dataDir,
        listen: DEMO_LISTEN,
      }
      const running = await serve(flags, defaults, true)
      const http = running.listeners.find((l) => l.name === 'http')
      const base = http?.url ?? 'http://127.0.0.1:8080'
      const hostPort = base.replace(/^https?:\/\//, '')
      const lines = [
        '',
        `Outpost demo is serving ${bundle}`,
        ...running.listeners.map((l) => `  ${l.name.padEnd(6)} ${l.url}`),
        '',
        'Images:',
        ...DEMO_IMAGES.map((i) => `  ${i.repository}:${i.tags.join(', ')}  — ${i.kind}`),
        '',
        `Status page: ${base}/status`,
        '',
        'Try:',
        `  curl -s ${base}/v2/_catalog`,
        `  curl -s ${base}/v2/library/hello/tags/list`,
        `  curl -sI -H 'Accept: application/vnd.oci.image.index.v1+json' ${base}/v2/library/hello/manifests/latest`,
        `  curl -s '${base}/v2/pause/manifests/3.9?ns=registry.k8s.io'   # upstream name, as containerd asks`,
        `  skopeo inspect --tls-verify=false docker://${hostPort}/library/hello:latest`,
        ...(running.tls
          ? [
              `  curl --cacert ${join(dataDir, 'tls', 'ca.crt')} ${running.listeners.find((l) => l.name === 'https')?.url ?? 'https://127.0.0.1:8443'}/v2/_catalog`,
            ]
          : []),
        `  skopeo copy --src-tls-verify=false --override-arch arm64 docker://${hostPort}/library/hello:1.0 dir:/tmp/hello-arm64`,
        '',
        'Stop with Ctrl-C.',
        '',
      ]
      writeStderr(lines.join('\n'), 'info')
    } catch (err) {
      failStartup(err)
    }
  })
}

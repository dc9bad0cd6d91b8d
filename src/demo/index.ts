/**
 * The built-in demo bundle: a tiny kubeplay-shaped bundle made by this code,
 * so `npm start` serves something real with no downloads.
 *
 *   <dir>/registry/        registry:2 tree
 *     library/hello        multi-arch OCI index (linux/amd64, linux/arm64), tags 1.0, latest
 *     library/pause        Docker schema2 image (linux/amd64), tag 3.9
 *   <dir>/nginx/files/…    a file, as kubespray's files_repo lays them out
 *   <dir>/images_origin.yaml  registry.k8s.io/pause → library/pause, …
 */
import { existsSync, mkdirSync, rmSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { OCI_INDEX, Registry2Writer, writeAtomic } from '../images/index.js'
import { makeImage, makeIndex } from './images.js'

export const DEMO_VERSION = '1'

export const DEMO_IMAGES = [
  { repository: 'library/hello', tags: ['1.0', 'latest'], kind: 'multi-arch OCI index (linux/amd64, linux/arm64)' },
  { repository: 'library/pause', tags: ['3.9'], kind: 'Docker schema2 image (linux/amd64)' },
] as const

const shell = (arch: string): string => `#!/bin/sh\necho "hello from the outpost demo (${arch})"\n`

/** Writes the demo bundle at `dir` (replacing an older one). Returns `dir`. */
export const buildDemoBundle = async (dir: string): Promise<string> => {
  const stamp = join(dir, '.demo-version')
  if (existsSync(stamp)) return dir
  const tmp = `${dir}.building-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  const reg = new Registry2Writer(join(tmp, 'registry'))

  const amd64 = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'hello.sh': shell('amd64'), 'etc/hello.txt': 'amd64\n' } })
  const arm64 = await makeImage({
    architecture: 'arm64',
    variant: 'v8',
    format: 'oci',
    files: { 'hello.sh': shell('arm64'), 'etc/hello.txt': 'arm64\n' },
  })
  reg.putImage('library/hello', amd64)
  reg.putImage('library/hello', arm64)
  const index = makeIndex(
    [
      { image: amd64, platform: { architecture: 'amd64', os: 'linux' } },
      { image: arm64, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ],
    OCI_INDEX,
  )
  reg.putManifest('library/hello', index, ['1.0', 'latest'])

  const pause = await makeImage({ architecture: 'amd64', format: 'docker', files: { pause: 'pause\n' } })
  reg.putImage('library/pause', pause, ['3.9'])

  writeAtomic(
    join(tmp, 'images_origin.yaml'),
    [
      '# upstream name → stored repository (kubeplay format)',
      '- src: registry.k8s.io/pause',
      '  dest: library/pause',
      '- src: k8s.gcr.io/pause',
      '  dest: library/pause',
      '- src: docker.io/library/hello',
      '  dest: library/hello',
      '',
    ].join('\n'),
  )
  writeAtomic(
    join(tmp, 'nginx', 'files', 'dl.k8s.io', 'release', 'v1.30.0', 'bin', 'linux', 'amd64', 'README.txt'),
    'Binaries such as kubeadm live here in a real bundle.\n',
  )
  writeAtomic(join(tmp, '.demo-version'), DEMO_VERSION)
  rmSync(dir, { recursive: true, force: true })
  renameSync(tmp, dir)
  return dir
}

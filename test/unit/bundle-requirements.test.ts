/** Requirement lists as operators have them, image references, platforms and what covers what. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RequirementsError, parseFileRef, parseImageRef, parseRequirementLists } from '../../src/bundle/requirements.js'
import { covers, neededPlatforms, nodePlatform, parsePlatform, parsePlatformList, uncovered } from '../../src/bundle/platforms.js'

test('image references: host, path, tag or digest, Docker Hub names normalised', () => {
  assert.deepEqual(parseImageRef('registry.k8s.io/kube-proxy:v1.30.0'), {
    upstream: 'registry.k8s.io/kube-proxy',
    host: 'registry.k8s.io',
    path: 'kube-proxy',
    tag: 'v1.30.0',
    digest: null,
  })
  assert.deepEqual(parseImageRef('nginx'), {
    upstream: 'docker.io/library/nginx',
    host: 'docker.io',
    path: 'library/nginx',
    tag: 'latest',
    digest: null,
  })
  const d = `sha256:${'ab'.repeat(32)}`
  assert.deepEqual(parseImageRef(`quay.io/calico/node:v3.27.2@${d}`), {
    upstream: 'quay.io/calico/node',
    host: 'quay.io',
    path: 'calico/node',
    tag: 'v3.27.2',
    digest: d,
  })
  assert.deepEqual(parseImageRef('localhost:5000/a/b:1'), {
    upstream: 'localhost:5000/a/b',
    host: 'localhost:5000',
    path: 'a/b',
    tag: '1',
    digest: null,
  })
  assert.equal(typeof parseImageRef('Upper/Case:1'), 'string')
  assert.equal(typeof parseImageRef('a b'), 'string')
  assert.equal(typeof parseImageRef('x@sha256:12'), 'string')
})

test('file references: URLs with their host, or served paths', () => {
  assert.deepEqual(parseFileRef('https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubeadm'), {
    host: 'dl.k8s.io',
    segments: ['release', 'v1.30.0', 'bin', 'linux', 'amd64', 'kubeadm'],
  })
  assert.deepEqual(parseFileRef('/files/a%20b.tgz'), { host: null, segments: ['files', 'a b.tgz'] })
  assert.equal(typeof parseFileRef('https://x.io/'), 'string')
  assert.equal(typeof parseFileRef('/a/%2e%2e/b'), 'string')
  assert.equal(typeof parseFileRef('kubeadm'), 'string')
})

test('images.list, kubeadm output (klog lines skipped), files.list and package lists', () => {
  const reqs = parseRequirementLists({
    images: [
      { name: 'images.list', text: '# kubespray\nregistry.k8s.io/pause:3.9\n\ndocker.io/library/nginx:1.25.2-alpine  # web\n' },
      {
        name: 'kubeadm.list',
        text: 'W1130 12:00:00.123456   4242 version.go:104] could not fetch a Kubernetes version from the internet\nregistry.k8s.io/etcd:3.5.12-0\n',
      },
    ],
    files: [
      {
        name: 'files.list',
        text: 'https://github.com/containerd/containerd/releases/download/v1.7.13/containerd-1.7.13-linux-amd64.tar.gz\n',
      },
    ],
    packages: [{ name: 'packages.list', text: 'socat conntrack\n[rhel]\ncontainerd.io\n[ubuntu]\nlibc6:amd64\n' }],
  })
  assert.deepEqual(
    reqs.map((r) => [r.kind, r.text, r.source, r.family ?? null]),
    [
      ['image', 'registry.k8s.io/pause:3.9', 'images.list:2', null],
      ['image', 'docker.io/library/nginx:1.25.2-alpine', 'images.list:4', null],
      ['image', 'registry.k8s.io/etcd:3.5.12-0', 'kubeadm.list:2', null],
      [
        'file',
        'https://github.com/containerd/containerd/releases/download/v1.7.13/containerd-1.7.13-linux-amd64.tar.gz',
        'files.list:1',
        null,
      ],
      ['package', 'socat', 'packages.list:1', null],
      ['package', 'conntrack', 'packages.list:1', null],
      ['package', 'containerd.io', 'packages.list:3', 'yum'],
      ['package', 'libc6:amd64', 'packages.list:5', 'apt'],
    ],
  )
})

test('a line that is no requirement stops the check, naming the list and line', () => {
  const bad = (lists: Parameters<typeof parseRequirementLists>[0], words: RegExp) =>
    assert.throws(
      () => parseRequirementLists(lists),
      (err: Error) => err instanceof RequirementsError && words.test(err.message),
    )
  bad(
    { images: [{ name: 'images.list', text: 'registry.k8s.io/pause:3.9\nnot an image\n' }] },
    /^images\.list:2: "not an image": not an image reference$/,
  )
  bad({ files: [{ name: 'files.list', text: 'ftp-less/path\n' }] }, /^files\.list:1: /)
  bad({ packages: [{ name: 'p.list', text: '[windows]\nfoo\n' }] }, /^p\.list:1: \[windows\] is not an OS family/)
  bad({ packages: [{ name: 'p.list', text: 'ok <script>\n' }] }, /^p\.list:1: "<script>" is not a package name/)
})

test('platforms: parsed, normalised from uname and Debian names, compared', () => {
  assert.deepEqual(parsePlatform('arm64'), { os: 'linux', architecture: 'arm64' })
  assert.deepEqual(parsePlatform('x86_64'), { os: 'linux', architecture: 'amd64' })
  assert.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' })
  assert.deepEqual(parsePlatform('armhf'), { os: 'linux', architecture: 'arm', variant: 'v7' })
  assert.equal(parsePlatform('a/b/c/d'), undefined)
  assert.deepEqual(parsePlatformList(['linux/amd64,aarch64', ' arm64 ', 'bad platform!']), {
    platforms: ['linux/amd64', 'linux/arm64'],
    invalid: ['bad platform!'],
  })
  assert.ok(covers('linux/arm64/v8', 'linux/arm64'))
  assert.ok(covers('linux/arm64', 'linux/arm64/v8'), 'arm64 is v8 when no variant is named')
  assert.ok(!covers('linux/arm/v6', 'linux/arm/v7'))
  assert.ok(!covers('windows/amd64', 'linux/amd64'))
  assert.deepEqual(uncovered(['linux/amd64'], ['linux/amd64', 'linux/arm64']), ['linux/arm64'])
  assert.equal(nodePlatform('aarch64'), 'linux/arm64')
  assert.equal(nodePlatform(null), undefined)
  assert.deepEqual(
    neededPlatforms(
      ['linux/amd64'],
      [
        { hostname: 'a', arch: 'amd64' },
        { hostname: 'b', arch: 'arm64' },
        { hostname: 'c', arch: undefined },
      ],
    ),
    {
      needed: ['linux/amd64', 'linux/arm64'],
      configured: ['linux/amd64'],
      nodes: [
        { hostname: 'a', platform: 'linux/amd64' },
        { hostname: 'b', platform: 'linux/arm64' },
      ],
    },
  )
})

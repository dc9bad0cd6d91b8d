/** POST /nodes/checkin, GET /nodes and the kubespray inventory over a real socket. */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import request from 'supertest'
import { parse as parseYaml } from 'yaml'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'

const EXAMPLE = {
  hostname: 'node-1',
  machineId: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  addresses: ['10.0.0.11'],
  os: { id: 'debian', version: '12' },
  arch: 'amd64',
  kernel: '6.1.0',
  runtime: { name: 'containerd', version: '1.6.20' },
  ntpOffsetMs: 3.2,
  labels: { role: 'kube_control_plane' },
}

describe('node check-in and listing', () => {
  let s: TestServer
  before(async () => {
    s = await startTestServer({ nodes: { offset_threshold_ms: 500 } })
  })
  after(() => s.close())

  const checkin = (body: unknown) =>
    request(s.url).post('/nodes/checkin').set('Content-Type', 'application/json').send(JSON.stringify(body))

  test('a check-in is recorded with its clock offset', async () => {
    const res = await checkin({ ...EXAMPLE, clockMs: Date.now(), newerField: [1, 2] }).expect(200)
    assert.equal(res.body.hostname, 'node-1')
    assert.equal(res.body.checkins, 1)
    assert.ok(Math.abs(res.body.clockOffsetMs) < 500, `offset ${res.body.clockOffsetMs}`)
    assert.equal(res.body.ntpOffsetMs, 3.2)
    assert.deepEqual(res.body.flags, [])
    assert.match(res.body.message, /^node-1 checked in \(first time\); clock [+-][\d.]+ ms against Outpost; NTP \+3\.2 ms$/)
    const again = await checkin({ ...EXAMPLE, clockMs: Date.now() })
      .set('Accept', 'text/plain')
      .expect(200)
    assert.match(again.text, /^node-1 checked in \(check-in 2\); clock /)
  })

  test('a node with a skewed clock is flagged; one without addresses is reached at its source address', async () => {
    const res = await checkin({ hostname: 'skewed', clockMs: Date.now() + 5000 }).expect(200)
    assert.deepEqual(res.body.flags, ['clock-skew'])
    assert.ok(res.body.clockOffsetMs > 4500 && res.body.clockOffsetMs < 5500)
    assert.match(res.body.message, /WARNING: clock off by more than 500 ms/)
    // Second-resolution clock: the uncertainty is reported and the estimate centred.
    const coarse = await checkin({ hostname: 'coarse', clockMs: Math.floor(Date.now() / 1000) * 1000, clockPrecisionMs: 1000 }).expect(200)
    assert.equal(coarse.body.clockUncertaintyMs, 500)
    assert.deepEqual(coarse.body.flags, [])
  })

  test('GET /nodes: JSON for programs, a table for curl', async () => {
    const json = await request(s.url).get('/nodes').set('Accept', 'application/json').expect(200)
    const names = json.body.nodes.map((n: { hostname: string }) => n.hostname)
    assert.deepEqual(names, ['coarse', 'node-1', 'skewed'])
    const node1 = json.body.nodes[1]
    assert.equal(node1.ansibleHost, '10.0.0.11')
    assert.equal(node1.checkins, 2)
    assert.deepEqual(node1.groups, ['kube_control_plane'])
    assert.deepEqual(node1.os, { id: 'debian', version: '12' })
    assert.equal(json.body.nodes[2].ansibleHost, '127.0.0.1')
    assert.deepEqual(json.body.nodes[2].flags, ['clock-skew'])
    assert.deepEqual(json.body.thresholds, { offsetMs: 500, staleAfterS: 86400 })
    const text = await request(s.url).get('/nodes').set('User-Agent', 'curl/8.5.0').set('Accept', '*/*').expect(200)
    assert.match(text.headers['content-type']!, /^text\/plain/)
    assert.match(
      text.text,
      /^node-1\s+10\.0\.0\.11\s+debian 12\s+amd64\s+containerd 1\.6\.20\s+\d+s ago\s+[+-][\d.]+ ms\s+\+3\.2 ms\s+kube_control_plane$/m,
    )
    assert.match(text.text, /^skewed\s+127\.0\.0\.1\s.*SKEW$/m)
    const forced = await request(s.url).get('/nodes?format=json').set('User-Agent', 'curl/8.5.0').expect(200)
    assert.equal(forced.body.count, 3)
  })

  test('GET /nodes/inventory.ini and .yaml', async () => {
    const ini = await request(s.url).get('/nodes/inventory.ini').expect(200)
    assert.match(ini.headers['content-type']!, /^text\/plain/)
    assert.match(ini.text, /^node-1 ansible_host=10\.0\.0\.11 ip=10\.0\.0\.11$/m)
    assert.match(ini.text, /^\[kube_control_plane\]\nnode-1$/m)
    assert.match(ini.text, /^\[kube_node\]\ncoarse\nskewed$/m)
    assert.match(ini.text, /^# skewed: clock-skew$/m)
    const yaml = await request(s.url)
      .get('/nodes/inventory.yaml')
      .buffer(true)
      .parse((res, cb) => {
        let t = ''
        res.on('data', (c: Buffer) => (t += c))
        res.on('end', () => cb(null, t))
      })
    assert.equal(yaml.status, 200)
    assert.match(yaml.headers['content-type']!, /^application\/yaml/)
    const doc = parseYaml(yaml.body as string)
    assert.deepEqual(doc.all.hosts['node-1'], { ansible_host: '10.0.0.11', ip: '10.0.0.11' })
    assert.deepEqual(Object.keys(doc.all.children.kube_node.hosts), ['coarse', 'skewed'])
  })

  test('a check-in without labels keeps the earlier ones; labels given replace them', async () => {
    await checkin({ hostname: 'labelled', labels: { role: 'etcd', disk: 'ssd' } }).expect(200)
    await checkin({ hostname: 'labelled' }).expect(200)
    const get = async () =>
      (
        (await request(s.url).get('/nodes?format=json').expect(200)).body.nodes as Array<{
          hostname: string
          labels: object
          groups: string[]
        }>
      ).find((n) => n.hostname === 'labelled')!
    assert.deepEqual((await get()).labels, { role: 'etcd', disk: 'ssd' })
    await checkin({ hostname: 'labelled', labels: {} }).expect(200)
    assert.deepEqual((await get()).groups, ['kube_node'])
  })

  test('refused check-ins get a 4xx naming the problem', async () => {
    const bad = async (body: string | Buffer, status: number, pattern: RegExp, type = 'application/json') => {
      const res = await request(s.url).post('/nodes/checkin').set('Content-Type', type).send(body)
      assert.equal(res.status, status, `${String(body).slice(0, 60)} → ${res.status} ${res.text}`)
      assert.match(res.body.error, pattern)
      return res.body
    }
    await bad('{"hostname": "a",', 400, /^the body is not valid JSON: /)
    await bad('', 400, /^the body is empty/)
    const missing = await bad('{"addresses": ["10.0.0.1"]}', 400, /^invalid check-in: hostname is required$/)
    assert.deepEqual(missing.issues, [{ path: 'hostname', message: 'hostname is required' }])
    await bad('{"hostname": "under_score"}', 400, /hostname must be a DNS host name/)
    await bad('{"hostname": ["node-1"]}', 400, /hostname must be a string/)
    await bad('{"hostname": "a", "clockMs": "soon"}', 400, /clockMs must be a number/)
    await bad('{"hostname": "a", "addresses": ["10.0.0.1", "x"]}', 400, /addresses\[1\]: not an IP address/)
    await bad('{"hostname": "a", "labels": {"role": "kube-master"}}', 400, /labels\.role: "kube-master" is not an inventory group name/)
    await bad('[{"hostname": "a"}]', 400, /must be a JSON object, not an array/)
    await bad(JSON.stringify({ hostname: 'a', machineId: 'x'.repeat(70_000) }), 413, /larger than 65536 bytes/)
    await bad(
      '--x\r\nContent-Disposition: form-data; name="hostname"\r\n\r\na\r\n--x--\r\n',
      415,
      /JSON body/,
      'multipart/form-data; boundary=x',
    )
    // None of these were recorded.
    const list = await request(s.url).get('/nodes?format=json').expect(200)
    assert.equal(list.body.count, 4)
  })

  test('a refused check-in is one line of text for clients that ask for text (bootstrap.sh does)', async () => {
    const res = await request(s.url)
      .post('/nodes/checkin')
      .set('Content-Type', 'application/json')
      .set('Accept', 'text/plain')
      .send('{"addresses": []}')
    assert.equal(res.status, 400)
    assert.match(res.headers['content-type']!, /^text\/plain/)
    assert.equal(res.text, '400 invalid check-in: hostname is required\n')
  })

  test('an oversized body sent chunked (no Content-Length) is refused too', async () => {
    const res = await fetch(`${s.url}/nodes/checkin`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(5000)))
          controller.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    assert.equal(res.status, 413)
  })
})

test('nodes survive a restart (the catalog database under data_dir)', async (t) => {
  const dataDir = tempDir('outpost-nodes-')
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const first = await startTestServer({ data_dir: dataDir })
  await request(first.url).post('/nodes/checkin').send({ hostname: 'keeper' }).expect(200)
  await first.close()
  const second = await startTestServer({ data_dir: dataDir })
  t.after(() => second.close())
  const res = await request(second.url).get('/nodes?format=json').expect(200)
  assert.deepEqual(
    res.body.nodes.map((n: { hostname: string }) => n.hostname),
    ['keeper'],
  )
})

/** Log lines: the syslog priority journald reads in JSON mode, and the short lines for people. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { execFileSync } from 'node:child_process'
import { createLogger, lineWriterOf, loggerLineFormat, silentLogger } from '../../src/server/logger.js'
import {
  accessJsonLine,
  jsonRecordLine,
  jsonString,
  lineFormat,
  logFormatOf,
  prefixJsonLine,
  prettyLine,
  syslogPrefix,
  type AccessFields,
} from '../../src/server/log-format.js'
import { loadConfig } from '../../src/server/config.js'

/** A logger writing into an array of lines. */
const capture = (format: 'json' | 'pretty' | 'auto', level: Parameters<typeof createLogger>[0] = 'trace') => {
  const lines: string[] = []
  const sink = new PassThrough()
  let rest = ''
  sink.on('data', (c) => {
    const parts = (rest + String(c)).split('\n')
    rest = parts.pop()!
    lines.push(...parts)
  })
  return { logger: createLogger(level, sink, format), lines }
}

// Past the line writer's batching (5 ms) too.
const settle = () => new Promise((r) => setTimeout(r, 20))

test('JSON lines start with the syslog priority of their level: <7> trace and debug, <6> info, <4> warn, <3> error, <2> fatal', async () => {
  const { logger, lines } = capture('json')
  logger.trace('t')
  logger.debug('d')
  logger.info('i')
  logger.warn('w')
  logger.error('e')
  logger.fatal('f')
  logger.child({ sub: 'x' }).warn({ n: 1 }, 'from a child')
  await settle()
  assert.deepEqual(
    lines.map((l) => l.slice(0, 3)),
    ['<7>', '<7>', '<6>', '<4>', '<3>', '<2>', '<4>'],
  )
  for (const l of lines) {
    const record = JSON.parse(l.slice(3))
    assert.equal(typeof record.time, 'string')
    assert.ok(!('pid' in record) && !('hostname' in record), l)
  }
  assert.deepEqual(JSON.parse(lines[6]!.slice(3)), {
    ...JSON.parse(lines[6]!.slice(3)),
    level: 'warn',
    sub: 'x',
    n: 1,
    msg: 'from a child',
  })
})

test('the prefix is read off the start of the line, and text outside the logger gets one too', () => {
  assert.equal(prefixJsonLine('{"level":"error","msg":"x"}\n'), '<3>{"level":"error","msg":"x"}\n')
  assert.equal(prefixJsonLine('{"level":"debug"}\n'), '<7>{"level":"debug"}\n')
  assert.equal(syslogPrefix('warn'), '<4>')
  const line = jsonRecordLine('error', 'outpost: invalid configuration\nx.yaml: bundle: "a b"', new Date('2026-01-02T03:04:05Z'))
  assert.equal(
    line,
    '<3>{"level":"error","time":"2026-01-02T03:04:05.000Z","msg":"outpost: invalid configuration\\nx.yaml: bundle: \\"a b\\""}\n',
  )
  assert.equal(line.split('\n').length, 2, 'one line')
})

test('auto is pretty on a terminal and JSON otherwise; the environment names a format or nothing', () => {
  assert.equal(lineFormat('auto', true), 'pretty')
  assert.equal(lineFormat('auto', false), 'json')
  assert.equal(lineFormat('auto', undefined), 'json')
  assert.equal(lineFormat('json', true), 'json')
  assert.equal(lineFormat('pretty', false), 'pretty')
  assert.equal(loggerLineFormat('auto', Object.assign(new PassThrough(), { isTTY: true })), 'pretty')
  assert.equal(loggerLineFormat('auto', new PassThrough()), 'json')
  assert.equal(logFormatOf('json'), 'json')
  assert.equal(logFormatOf('loud'), undefined)
  assert.equal(logFormatOf(undefined), undefined)
})

test('log.format and log.access: keys with env variables, validated', () => {
  const d = loadConfig({ env: {}, noDefaultFile: true }).config
  assert.equal(d.log.format, 'auto')
  assert.equal(d.log.access, true)
  const e = loadConfig({ env: { OUTPOST_LOG_FORMAT: 'json', OUTPOST_LOG_ACCESS: 'false' }, noDefaultFile: true }).config
  assert.equal(e.log.format, 'json')
  assert.equal(e.log.access, false)
  assert.throws(() => loadConfig({ env: { OUTPOST_LOG_FORMAT: 'xml' }, noDefaultFile: true }), /log\.format/)
})

test('a pretty line: clock, level, part, message, then key=value; strings quoted only when they must be', async () => {
  const { logger, lines } = capture('pretty')
  logger.info({ listener: 'http', url: 'http://127.0.0.1:8080', writes: 'none (read-only)' }, 'listening')
  logger.child({ sub: 'tls' }).warn({ days: 3, names: ['a', 'b'] }, 'certificate expires soon')
  await settle()
  assert.match(
    lines[0]!,
    /^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening listener=http url=http:\/\/127\.0\.0\.1:8080 writes="none \(read-only\)"$/,
  )
  assert.match(lines[1]!, /^\d\d:\d\d:\d\d\.\d{3} WARN {2}tls: certificate expires soon days=3 names=\["a","b"\]$/)
  assert.ok(!lines.join('\n').includes('{"level"'))
})

test('a pretty access line: method, path, status, bytes, ms, client, then listener, user, aborted', () => {
  const line = prettyLine({
    level: 'info',
    time: '2026-01-02T03:04:05.006Z',
    sub: 'access',
    method: 'GET',
    path: '/v2/library/pause/blobs/sha256:abc',
    status: 200,
    bytes: 311,
    ms: 1.4,
    client: '10.0.0.7',
    listener: 'https',
    user: 'alice',
    aborted: true,
    msg: 'request',
  })
  assert.match(
    line,
    /^\d\d:\d\d:05\.006 INFO {2}GET \/v2\/library\/pause\/blobs\/sha256:abc 200 311B 1\.4ms 10\.0\.0\.7 listener=https user=alice aborted\n$/,
  )
  assert.ok(line.length < 120, line)
})

test('colour only for the level and clock, and only when asked', () => {
  const record = { level: 'error', time: '2026-01-02T03:04:05.006Z', msg: 'boom' }
  assert.ok(!prettyLine(record).includes('\x1b'))
  assert.ok(prettyLine(record, { color: true }).includes('\x1b[31mERROR\x1b[0m boom'))
})

test('an error shows its code and message; its stack only at debug', async () => {
  const err = Object.assign(new Error('port taken'), { code: 'EADDRINUSE' })
  const json = capture('json', 'info')
  json.logger.error({ err }, 'cannot listen')
  const pretty = capture('pretty', 'info')
  pretty.logger.error({ err }, 'cannot listen')
  await settle()
  const record = JSON.parse(json.lines[0]!.slice(3))
  assert.deepEqual(record.err, { type: 'Error', message: 'port taken', code: 'EADDRINUSE' })
  assert.match(pretty.lines[0]!, /ERROR cannot listen err="EADDRINUSE: port taken"$/)
  assert.equal(pretty.lines.length, 1)

  json.logger.level = 'debug'
  pretty.logger.level = 'debug'
  json.logger.child({ sub: 'x' }).error({ err }, 'cannot listen')
  pretty.logger.error({ err }, 'cannot listen')
  await settle()
  assert.match(JSON.parse(json.lines[1]!.slice(3)).err.stack, /^Error: port taken\n {4}at /)
  assert.match(pretty.lines[2]!, /^ {4}Error: port taken$/)
  assert.match(pretty.lines[3]!, /^ {8}at /)
})

test('a level set on the root logger reaches the children made before', async () => {
  const { logger, lines } = capture('json', 'info')
  const child = logger.child({ sub: 'registry' })
  child.debug('hidden')
  logger.level = 'debug'
  child.debug('shown')
  logger.level = 'warn'
  child.info('hidden too')
  await settle()
  assert.deepEqual(
    lines.map((l) => JSON.parse(l.slice(3)).msg),
    ['shown'],
  )
})

test('credentials stay redacted in both formats', async () => {
  for (const format of ['json', 'pretty'] as const) {
    const { logger, lines } = capture(format)
    logger.info({ headers: { authorization: 'Basic YWxpY2U6czNjcmV0' } }, 'x')
    await settle()
    assert.doesNotMatch(lines.join('\n'), /YWxp/)
    assert.match(lines.join('\n'), /\[redacted\]/)
  }
})

test('the access line made without pino is byte for byte the line pino makes, in both formats', async () => {
  const records: AccessFields[] = [
    { method: 'GET', path: '/a.txt', status: 200, bytes: 13, ms: 0.3, client: '127.0.0.1', listener: 'http' },
    { method: 'HEAD', path: '/v2/x/manifests/1.0', status: 404, bytes: 0, ms: 12, client: '::ffff:10.0.0.7' },
    { method: 'GET', path: '/a b"c\\d', status: 206, bytes: 1, ms: 1234.5, client: undefined, user: 'alice', aborted: true },
    { method: 'GET', path: '/x\u0001y\t', status: 200, bytes: 0, ms: 0, client: '::1', route: 'files', ua: 'curl/8.0 "quoted"' },
    {
      method: 'GET',
      path: `/${'long/'.repeat(40)}é日本`,
      status: 500,
      bytes: 2 ** 40,
      ms: 0.1,
      client: '::1',
      listener: 'push',
      ua: '\u00e9\u00ff',
    },
    { method: undefined, path: '/', status: 200, bytes: 7, ms: Number.NaN, client: 'x', listener: undefined, route: 'other' },
  ]
  for (const format of ['json', 'pretty'] as const) {
    const viaPino = capture(format)
    const direct = capture(format)
    const write = lineWriterOf(direct.logger)
    assert.ok(write, 'createLogger registers a line writer')
    for (const r of records) viaPino.logger.child({ sub: 'access' }).info(r, 'request')
    await settle()
    // The same time as pino wrote, read back from its line.
    const times = viaPino.lines.map((l) => (format === 'json' ? JSON.parse(l.slice(3)).time : null))
    records.forEach((r, i) => write!(accessJsonLine(times[i] ?? new Date().toISOString(), r), 'info'))
    await settle()
    assert.equal(direct.lines.length, records.length)
    if (format === 'json') assert.deepEqual(direct.lines, viaPino.lines)
    // Pretty lines: the same but for the clock, which is the moment of writing.
    else
      assert.deepEqual(
        direct.lines.map((l) => l.slice(12)),
        viaPino.lines.map((l) => l.slice(12)),
      )
  }
  assert.equal(lineWriterOf(silentLogger()), undefined)
})

test('strings in JSON lines: escaped as pino escapes them', () => {
  for (const s of ['', 'plain', 'a"b', 'a\\b', '"\\"', 'tab\there', 'nl\n', 'x'.repeat(101) + '"', 'é日本', '\u007f', '\u2028'])
    assert.equal(JSON.parse(jsonString(s)), s, s)
  assert.equal(jsonString('a"b\\c'), '"a\\"b\\\\c"')
})

test('lines from the line writer keep their place among the logger own lines, and reach the destination at exit', async () => {
  const { logger, lines } = capture('json')
  const write = lineWriterOf(logger)!
  write('{"level":"info","msg":"a"}\n', 'info')
  write('{"level":"info","msg":"b"}\n', 'info')
  logger.warn('c')
  write('{"level":"debug","msg":"d"}\n', 'debug')
  await settle()
  assert.deepEqual(
    lines.map((l) => [l.slice(0, 3), JSON.parse(l.slice(3)).msg]),
    [
      ['<6>', 'a'],
      ['<6>', 'b'],
      ['<4>', 'c'],
      ['<7>', 'd'],
    ],
  )
  // A process that exits in the same turn as it wrote: the line is still written.
  const script = [
    `import { createLogger, lineWriterOf } from ${JSON.stringify(new URL('../../src/server/logger.ts', import.meta.url).href)}`,
    `lineWriterOf(createLogger('info', undefined, 'json'))('{"level":"info","msg":"last"}\\n', 'info')`,
    'process.exit(0)',
  ].join('\n')
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.equal(out, '<6>{"level":"info","msg":"last"}\n')
})

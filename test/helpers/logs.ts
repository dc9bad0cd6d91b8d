/**
 * Outpost's log lines as tests read them. Off a terminal every line is JSON
 * led by its syslog priority (`<6>{"level":"info",…}`, src/server/log-format.ts).
 */

const LINE = /^<(\d)>(\{.*\})\s*$/

const PRIORITY: Record<string, number> = { trace: 7, debug: 7, info: 6, warn: 4, error: 3, fatal: 2 }

/** One JSON log line (as JSON.parse gives it), its `<N>` prefix checked against its level and removed. */
export const parseLogLine = (line: string) => {
  const m = LINE.exec(line)
  if (!m) throw new Error(`not a prefixed JSON log line: ${line}`)
  const record = JSON.parse(m[2]!)
  const expected = PRIORITY[String(record.level)]
  if (Number(m[1]) !== expected) throw new Error(`priority <${m[1]}> does not match level ${record.level}: ${line}`)
  return record
}

/** The log records in some output; lines that are not log lines (a banner, a client's output) are skipped. */
export const logRecords = (output: string): ReturnType<typeof parseLogLine>[] =>
  output
    .split('\n')
    .filter((l) => LINE.test(l))
    .map(parseLogLine)

/** The text of stderr as a person reads it: each JSON record's message, other lines as they are. */
export const stderrText = (stderr: string): string =>
  stderr
    .split('\n')
    .map((l) => (LINE.test(l) ? parseLogLine(l).msg : l))
    .join('\n')

/**
 * A page in a real browser: Debian's `chromium`, headless, as root (hence
 * --no-sandbox), with a throw-away profile and nothing that talks to the
 * network on its own.
 *
 * With scripts on, `--dump-dom` gives the DOM after load and `--screenshot`
 * a PNG. With scripts off, the headless shell's own --dump-dom and
 * --screenshot print nothing (they run through the page's script engine,
 * which `--blink-settings=scriptEnabled=false` turns off), so the page is
 * loaded over the DevTools protocol on a pipe instead (`--remote-debugging-pipe`:
 * NUL-separated JSON on file descriptors 3 and 4, no WebSocket needed) with
 * the same setting, and its DOM and a screenshot read from there.
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { requireTools, run } from './tools.js'

const flags = (profile: string, width: number, height: number): string[] => [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--hide-scrollbars',
  `--user-data-dir=${profile}`,
  `--window-size=${width},${height}`,
]

export interface PageLoad {
  /** The DOM after load, serialised. */
  dom: string
}

export interface LoadOptions {
  /** A temporary folder: the profile goes in it. */
  work: string
  /** Where to write a screenshot of the page. */
  screenshot?: string
  width?: number
  height?: number
}

/** The page with scripts on: `--dump-dom`, then `--screenshot`. */
export const loadPage = async (url: string, o: LoadOptions): Promise<PageLoad> => {
  requireTools({ chromium: 'chromium' })
  const base = flags(join(o.work, 'profile-js'), o.width ?? 1280, o.height ?? 2000)
  const dump = await run('chromium', [...base, '--dump-dom', url], { timeoutMs: 60_000 })
  if (dump.code !== 0 || !dump.stdout.includes('<html'))
    throw new Error(`chromium --dump-dom failed (${dump.code}): ${dump.stderr.slice(-2000)}`)
  if (o.screenshot) {
    const shot = await run('chromium', [...base, `--screenshot=${o.screenshot}`, url], { timeoutMs: 60_000 })
    if (shot.code !== 0) throw new Error(`chromium --screenshot failed (${shot.code}): ${shot.stderr.slice(-2000)}`)
  }
  return { dom: dump.stdout }
}

/** The page with scripts off, over the DevTools protocol on a pipe. */
export const loadPageWithoutScripts = async (url: string, o: LoadOptions): Promise<PageLoad> => {
  requireTools({ chromium: 'chromium' })
  const width = o.width ?? 1280
  const height = o.height ?? 2000
  const child = spawn(
    'chromium',
    [
      ...flags(join(o.work, 'profile-nojs'), width, height),
      '--blink-settings=scriptEnabled=false',
      '--remote-debugging-pipe',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  const toBrowser = child.stdio[3] as Writable
  const fromBrowser = child.stdio[4] as Readable
  let nextId = 1
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>()
  const waiters: Array<{ method: string; resolve: () => void }> = []
  let buffer = ''
  fromBrowser.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8')
    let end: number
    while ((end = buffer.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buffer.slice(0, end)) as {
        id?: number
        result?: Record<string, unknown>
        error?: { message: string }
        method?: string
      }
      buffer = buffer.slice(end + 1)
      if (msg.id !== undefined) {
        const p = pending.get(msg.id)
        pending.delete(msg.id)
        if (msg.error) p?.reject(new Error(msg.error.message))
        else p?.resolve(msg.result ?? {})
      } else if (msg.method) {
        for (const w of waiters.filter((x) => x.method === msg.method)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve()
        }
      }
    }
  })
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve, reject })
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`)
    })
  const event = (method: string): Promise<void> => new Promise((resolve) => waiters.push({ method, resolve }))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  try {
    const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as { targetId: string }
    const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string }
    await send('Emulation.setScriptExecutionDisabled', { value: true }, sessionId)
    await send('Page.enable', {}, sessionId)
    const loaded = event('Page.loadEventFired')
    await send('Page.navigate', { url }, sessionId)
    await loaded
    const { root } = (await send('DOM.getDocument', { depth: -1 }, sessionId)) as { root: { nodeId: number } }
    const { outerHTML } = (await send('DOM.getOuterHTML', { nodeId: root.nodeId }, sessionId)) as { outerHTML: string }
    if (o.screenshot) {
      const { data } = (await send('Page.captureScreenshot', { format: 'png' }, sessionId)) as { data: string }
      writeFileSync(o.screenshot, Buffer.from(data, 'base64'))
    }
    await send('Browser.close').catch(() => undefined)
    return { dom: outerHTML }
  } catch (err) {
    throw new Error(`chromium over the DevTools pipe: ${(err as Error).message}\n${stderr.slice(-2000)}`, { cause: err })
  } finally {
    clearTimeout(timer)
    if (child.exitCode === null) child.kill('SIGTERM')
    await exited
  }
}

/** The text a person reads: the DOM without its tags, entities decoded, spaces collapsed. */
export const textOf = (html: string): string =>
  html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')

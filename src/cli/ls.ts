/** `outpost ls`: the inventory of a running Outpost, of a bundle folder, or of the configured roots. */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { RootsError, bundleProblem, buildLayout, checkRoots, rootProblemLine, scanInventory } from '../server/index.js'
import { renderInventoryText } from '../nodes/served-inventory.js'
import { LAYOUT_KEYS, addConfigOptions, flagAttribute, type ConfigFlags } from './options.js'
import { answerSummary, baseUrl, getFrom } from './remote.js'
import { RemoteError, UsageError, commandConfig, fail } from './run.js'

/** The inventory as a running Outpost serves it (plain text). */
const remoteInventory = async (target: string): Promise<string> => {
  const base = baseUrl(target)
  const answer = await getFrom(base, '/inventory', { accept: 'text/plain' })
  if (answer.status !== 200) {
    throw new RemoteError(
      `${new URL('/inventory', base).href} answered ${answerSummary(answer)}${answer.status === 404 ? ' (is it an Outpost?)' : ''}`,
    )
  }
  return answer.text
}

const ls = async (target: string | undefined, flags: ConfigFlags): Promise<void> => {
  try {
    if (target && /^https?:\/\//i.test(target)) {
      process.stdout.write(await remoteInventory(target))
      return
    }
    if (target) {
      const problem = bundleProblem(resolve(target))
      if (problem) throw new UsageError(`${target} ${problem}`)
    }
    const config = commandConfig(target ? { ...flags, [flagAttribute('bundle')]: resolve(target) } : flags)
    const missing = checkRoots(config)
    if (missing.length && !config.allow_missing_roots) throw new RootsError(missing)
    for (const m of missing) process.stderr.write(`outpost: ${rootProblemLine(m)} (left out)\n`)
    process.stdout.write(renderInventoryText(await scanInventory(buildLayout(config))))
  } catch (err) {
    fail(err)
  }
}

export const addLs = (program: Command): void => {
  addConfigOptions(
    program
      .command('ls')
      .description('print the inventory of a running Outpost (URL) or of a bundle folder')
      .argument('[target]', 'http(s) URL of a running Outpost, or a bundle folder; default: the configured roots'),
    LAYOUT_KEYS,
  ).action(ls)
}

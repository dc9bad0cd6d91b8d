/** `outpost ls`: the inventory of a running Outpost, of a bundle folder, or of the configured roots. */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { buildLayout, scanInventory } from '../server/index.js'
import { renderInventoryText } from '../nodes/served-inventory.js'
import { LAYOUT_KEYS, addConfigOptions, flagAttribute, type ConfigFlags } from './options.js'
import { commandConfig, fail } from './run.js'

export const addLs = (program: Command): void => {
  addConfigOptions(
    program
      .command('ls')
      .description('print the inventory of a running Outpost (URL) or of a bundle folder')
      .argument('[target]', 'http(s) URL of a running Outpost, or a bundle folder; default: the configured roots'),
    LAYOUT_KEYS,
  ).action(async (target: string | undefined, flags: ConfigFlags) => {
    try {
      if (target && /^https?:\/\//.test(target)) {
        const res = await fetch(new URL('/inventory', target), { headers: { accept: 'text/plain' } })
        if (!res.ok) throw new Error(`${target}: HTTP ${res.status}`)
        process.stdout.write(await res.text())
        return
      }
      const config = commandConfig(target ? { ...flags, [flagAttribute('bundle')]: resolve(target) } : flags)
      const layout = buildLayout(config)
      process.stdout.write(renderInventoryText(await scanInventory(layout)))
    } catch (err) {
      fail(err)
    }
  })
}

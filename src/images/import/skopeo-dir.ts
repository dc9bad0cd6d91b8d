/**
 * skopeo `dir:` copies (containers/image directory transport): `version`
 * (`Directory Transport Version: 1.x`), `manifest.json` (the top manifest or
 * index, as copied), `<hex>.manifest.json` for the child manifests of a
 * `--all` copy, `<hex>` for configs and layers, `signature-N` (ignored). A
 * dir copy carries no name.
 */
import { parseDigest } from './deps.js'
import { ImportError } from './errors.js'
import { SourceBuilder, type Locator } from './source.js'

const hexOf = (digest: string): string => parseDigest(digest)?.hex ?? digest

const DIR_LOCATOR: Locator = {
  manifest: (digest) => `${hexOf(digest)}.manifest.json`,
  blob: (digest) => hexOf(digest),
}

export const readSkopeoDir = async (builder: SourceBuilder): Promise<void> => {
  const version = (await builder.container.read('version', 4096)).toString('utf8')
  if (!/^Directory Transport Version: 1\.\d+/.test(version)) {
    throw new ImportError(builder.path, 'version', `not a skopeo dir: copy (${JSON.stringify(version.trim().slice(0, 60))})`)
  }
  const bytes = await builder.readManifest('manifest.json')
  builder.images.push({ refs: [], ...(await builder.collect(bytes, 'manifest.json', DIR_LOCATOR, undefined, 'manifest.json')) })
}

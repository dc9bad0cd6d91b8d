/**
 * The ARCH flag of `GET /nodes`: a node whose architecture some image it
 * needs lacks (every image served, or those of the images list when one is
 * configured), with the images concerned. Added to the nodes' own view.
 */
import type { NodesView } from '../nodes/inventory.js'
import type { ImageSummary } from './content.js'
import { covers, nodePlatform } from './platforms.js'

/** Images named per node; the rest are counted. */
export const ARCH_IMAGES_SHOWN = 20

/**
 * Images that lack `platform`: none of their platforms covers it, or an
 * index's image for it is not whole. An image that names no platform (an
 * artifact) is for every node; a single-platform image that is broken is a
 * broken image (named as such), not a missing architecture.
 */
export const imagesLacking = (images: readonly ImageSummary[], platform: string): ImageSummary[] =>
  images.filter(
    (i) =>
      i.platforms.length > 0 &&
      !i.completePlatforms.some((p) => covers(p, platform)) &&
      (!i.platforms.some((p) => covers(p, platform)) || i.platforms.length > 1),
  )

export const withArchFlags = (view: NodesView, images: readonly ImageSummary[]): NodesView => {
  const nodes = view.nodes.map((n) => {
    const platform = nodePlatform(n.arch)
    const lacking = platform ? imagesLacking(images, platform) : []
    if (!platform || !lacking.length) return n
    return {
      ...n,
      flags: [...n.flags.filter((f) => f !== 'arch'), 'arch' as const],
      archMissing: { platform, images: lacking.slice(0, ARCH_IMAGES_SHOWN).map((i) => i.image), count: lacking.length },
    }
  })
  return { ...view, nodes, flagged: nodes.filter((n) => n.flags.length).length }
}

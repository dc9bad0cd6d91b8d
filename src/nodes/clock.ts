/**
 * The wall clock with sub-millisecond resolution. `Date.now()` counts whole
 * milliseconds; NTP clients resolve far finer. The monotonic clock
 * (`performance.now()`) fills in the fraction, anchored to the wall clock.
 * When the estimate leaves the millisecond `Date.now()` names, it is pulled
 * to the nearest edge of that millisecond and re-anchored there: the least
 * correction, so a reading never jumps by more than the drift it corrects,
 * and a stepped system clock shows within a millisecond.
 */
import { performance } from 'node:perf_hooks'

export type Clock = () => number

let anchorWall = Date.now()
let anchorMono = performance.now()

/** Milliseconds since the Unix epoch, with a fraction. */
export const preciseNow: Clock = () => {
  const mono = performance.now()
  const wall = Date.now()
  const estimate = anchorWall + (mono - anchorMono)
  // Date.now() truncates: the true time lies in [wall, wall + 1).
  if (estimate >= wall && estimate < wall + 1) return estimate
  anchorWall = Math.min(Math.max(estimate, wall), wall + 0.999)
  anchorMono = mono
  return anchorWall
}

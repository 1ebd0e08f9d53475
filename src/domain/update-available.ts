// "Update available" (SPEC §7): computed from a step's pin and its connector's live release, never
// stored. Pure: versions in, decision out.
import { formatVersion, type Version } from './lifecycle.js'

export interface UpdateAvailability {
  /** a newer MAJOR live release of the step's connector exists */
  updateAvailable: boolean
  /** the version the step could move to (the live release), when an update is available */
  updateVersion: string | null
}

export const NO_UPDATE: UpdateAvailability = Object.freeze({ updateAvailable: false, updateVersion: null })

/**
 * A step pinned to `pinned` has an update when the connector's live release is of a higher major.
 * A newer minor is not an update: minor pushes re-pin steps at push time (SPEC §1).
 */
export function updateAvailability(pinned: Version | null | undefined, live: Version | null | undefined): UpdateAvailability {
  if (!pinned || !live || live.major <= pinned.major) return NO_UPDATE
  return { updateAvailable: true, updateVersion: formatVersion(live) }
}

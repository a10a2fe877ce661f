import type { DiscoveredDataflow, FileManifest } from '../../protocol/discovery.js'
import type { DescribedDataflow, WireManifest } from '../../protocol/discovery-messages.js'

/** A DataFlow description a worker sent, kept for the manifests that name it by id later. */
export interface KnownDataflow {
  dataflow: DiscoveredDataflow
  /** Its length as JSON: what it adds to the size of each manifest that names it. */
  bytes: number
}

export type Assembly = { manifest: FileManifest; learned: Map<number, KnownDataflow> } | { problem: string }

/**
 * The manifest a worker sent, with its DataFlow instances put back from their ids (see
 * `wireManifestSchema`), or why it cannot be. `known` holds what the same worker described
 * before; `learned` is what this message describes, for the caller to keep once the manifest is
 * accepted. The size limit counts each description in full, as the worker measured it. Pure.
 */
export function assembleManifest(
  known: ReadonlyMap<number, KnownDataflow>,
  wire: WireManifest,
  described: readonly DescribedDataflow[],
  maxManifestBytes: number,
  /** `JSON.stringify(wire).length`, when the caller measured it already (in pieces). */
  wireBytes = JSON.stringify(wire).length,
): Assembly {
  const learned = new Map<number, KnownDataflow>()
  for (const { id, dataflow } of described) {
    if (known.has(id) || learned.has(id)) return { problem: `DataFlow description #${id} a second time` }
    // Described only with the manifest that names it: nothing unnamed is kept, or escapes the size limit.
    if (!wire.dataflows.includes(id)) return { problem: `DataFlow description #${id}, which its manifest does not name` }
    learned.set(id, { dataflow, bytes: JSON.stringify(dataflow).length })
  }
  // The size the manifest has in full: each id replaced by its description.
  let size = wireBytes
  const dataflows: DiscoveredDataflow[] = []
  for (const id of wire.dataflows) {
    const entry = learned.get(id) ?? known.get(id)
    if (entry === undefined) return { problem: `DataFlow #${id}, which it never described` }
    dataflows.push(entry.dataflow)
    size += entry.bytes - String(id).length
  }
  if (size > maxManifestBytes) return { problem: `a manifest of ${size} bytes, over the ${maxManifestBytes}-byte limit` }
  return { manifest: { ...wire, dataflows }, learned }
}

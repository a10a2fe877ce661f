import { FunctionNode, HttpRequestNode, MergeNode, SwitchNode } from './nodes/index.js'
import { NodeRegistry } from './registry.js'

// One default registry per thread, shared by every copy of this package loaded in it: a user's
// app and nexflow's own worker may resolve `nexflow` to different files, and DataFlow models
// registered by one must be visible to the other.
const KEY = Symbol.for('nexflow.defaultRegistry')

/** The registry used when none is given: the built-in nodes plus whatever the app registers. */
export function defaultRegistry(): NodeRegistry {
  const holder = globalThis as { [KEY]?: NodeRegistry }
  let registry = holder[KEY]
  if (registry === undefined) {
    registry = new NodeRegistry()
    registry.register(FunctionNode)
    registry.register(HttpRequestNode)
    registry.register(SwitchNode)
    registry.register(MergeNode)
    holder[KEY] = registry
  }
  return registry
}

import { NexflowError } from '../errors.js'
import type { NodeDefinition, ParamsSchema } from './node.js'

export interface RegisterOptions {
  /** Replace an existing type of the same name instead of failing (hot reload, regenerated models). */
  replace?: boolean
}

/** Node types by name. Registering a name twice is an error unless `replace` is asked for. */
export class NodeRegistry {
  readonly #types = new Map<string, NodeDefinition>()

  register<S extends ParamsSchema>(definition: NodeDefinition<S>, options: RegisterOptions = {}): NodeDefinition<S> {
    const existing = this.#types.get(definition.type)
    if (existing !== undefined && existing !== definition && options.replace !== true) {
      throw new NexflowError('NODE_TYPE_DUPLICATE', `Node type "${definition.type}" is already registered; pass { replace: true } to replace it`, {
        details: { type: definition.type },
      })
    }
    this.#types.set(definition.type, definition)
    return definition
  }

  has(type: string): boolean {
    return this.#types.has(type)
  }

  get(type: string): NodeDefinition | undefined {
    return this.#types.get(type)
  }

  /** Like {@link get}, but an unknown type is an error that lists what is known. */
  require(type: string): NodeDefinition {
    const definition = this.#types.get(type)
    if (definition === undefined) {
      throw new NexflowError('NODE_TYPE_UNKNOWN', `Unknown node type "${type}"; registered types: ${[...this.#types.keys()].sort().join(', ') || '(none)'}`, {
        details: { type },
      })
    }
    return definition
  }

  unregister(type: string): boolean {
    return this.#types.delete(type)
  }

  types(): string[] {
    return [...this.#types.keys()].sort()
  }

  definitions(): NodeDefinition[] {
    return [...this.#types.values()]
  }
}

import { z } from 'zod'
import { defineNode } from '../node.js'

/**
 * Joins the outputs of several branches. Connect them to `data1`, `data2`, ... (absent inputs, from
 * branches a Switch did not take, are left out). `concat` flattens arrays into `merged`, `object`
 * shallow-merges objects (later inputs win), `first` takes the first present input.
 */
export const MergeNode = defineNode({
  type: 'Merge',
  description: 'Joins data1, data2, ... by concat, object merge or first present.',
  params: z.looseObject({ strategy: z.enum(['concat', 'object', 'first']).default('concat') }),
  run({ strategy, ...rest }) {
    const inputs = Object.keys(rest)
      .filter((key) => /^data\d+$/.test(key) && rest[key] !== undefined)
      .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
      .map((key) => rest[key])
    switch (strategy) {
      case 'concat':
        return { merged: inputs.flatMap((item): unknown[] => (Array.isArray(item) ? (item as unknown[]) : [item])) }
      case 'object':
        return { merged: Object.assign({}, ...inputs.filter((item) => item !== null && typeof item === 'object')) as Record<string, unknown> }
      case 'first':
        return { merged: inputs[0] ?? null }
    }
  },
})

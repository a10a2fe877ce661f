import { z } from 'zod'
import { defineNode, type NodeOutput } from '../node.js'

type CompiledFunction = (inputs: Record<string, unknown>) => unknown

// Compiling is the slow part; a workflow runs the same code many times.
const compiled = new Map<string, CompiledFunction>()

function compile(code: string): CompiledFunction {
  let fn = compiled.get(code)
  if (fn === undefined) {
    const trimmed = code.trim()
    // Either a function expression (`(inputs) => ...`, `function (inputs) {...}`) or a body using `inputs`.
    const isExpression = /^(async\s+)?(function\b|\([^)]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)/.test(trimmed)
    // Evaluating the workflow author's code is this node's purpose; workflows come from the app's
    // own files, never from request bodies.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    fn = isExpression ? ((new Function(`return (${trimmed})`) as () => CompiledFunction)()) : (new Function('inputs', trimmed) as CompiledFunction)
    compiled.set(code, fn)
  }
  return fn
}

/**
 * Runs a JavaScript function given as source, so the workflow stays plain data: either a function
 * expression (`({ a, b }) => ({ sum: a + b })`) or a function body that reads `inputs`. Every other
 * param (from config, templates or connections) is passed in `inputs`. A returned non-object is
 * wrapped as `{ result }`. `code` is never template-expanded; pass values in as other params. For code that needs closures or imports, use `defineNode` instead.
 */
export const FunctionNode = defineNode({
  type: 'Function',
  description: 'Runs a JavaScript function given as source; other params arrive as its inputs.',
  params: z.looseObject({ code: z.string().min(1) }),
  // Code is full of JavaScript template literals; `${x}` in it is the code's own business.
  literalParams: ['code'],
  async run({ code, ...inputs }) {
    const result = await compile(code)(inputs)
    if (result !== null && typeof result === 'object' && !Array.isArray(result)) return result as NodeOutput
    return { result }
  },
})

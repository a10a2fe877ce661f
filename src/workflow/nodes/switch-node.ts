import { z } from 'zod'
import { getPath, parsePath } from '../dotted-path.js'
import { defineNode } from '../node.js'

const operators = {
  '==': (a: unknown, b: unknown) => a === b,
  '!=': (a: unknown, b: unknown) => a !== b,
  '>': (a: unknown, b: unknown) => (a as number) > (b as number),
  '>=': (a: unknown, b: unknown) => (a as number) >= (b as number),
  '<': (a: unknown, b: unknown) => (a as number) < (b as number),
  '<=': (a: unknown, b: unknown) => (a as number) <= (b as number),
  in: (a: unknown, b: unknown) => Array.isArray(b) && b.includes(a),
  contains: (a: unknown, b: unknown) => (typeof a === 'string' ? a.includes(String(b)) : Array.isArray(a) && a.includes(b)),
  truthy: (a: unknown) => Boolean(a),
  exists: (a: unknown) => a !== undefined && a !== null,
} as const

/**
 * Routes `input` down one branch. With `operator`/`value` it emits `true_output` or `false_output`;
 * with `cases` it emits `case_<value>` for the matching case, else `default`. Outputs of the branch
 * not taken are absent, and nodes fed only by them are skipped.
 */
export const SwitchNode = defineNode({
  type: 'Switch',
  description: 'Routes its input to true_output/false_output, or to case_<value>/default.',
  conditionalOutputs: true,
  params: z.object({
    input: z.unknown(),
    /** Dotted path into `input` to test; the whole input when omitted. */
    field: z.string().optional(),
    operator: z.enum(Object.keys(operators) as [keyof typeof operators, ...(keyof typeof operators)[]]).default('=='),
    value: z.unknown().optional(),
    cases: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
  }),
  run({ input, field, operator, value, cases }) {
    const subject = field === undefined ? input : getPath(input, parsePath(field))
    if (cases !== undefined) {
      const match = cases.find((c) => c === subject)
      return match === undefined ? { default: input, matched: null } : { [`case_${String(match)}`]: input, matched: match }
    }
    const taken = operators[operator](subject, value)
    return taken ? { true_output: input, condition: true } : { false_output: input, condition: false }
  },
})

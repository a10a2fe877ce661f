import { LocalRuntime, WorkflowBuilder } from '../../../src/index.js'

/**
 * Prices an order: sums its lines, routes large orders through a discount, and formats a receipt.
 * Inputs: `items` ([{ sku, price, qty }]) and `customer` (a name).
 */
export const workflow = new WorkflowBuilder()
  .addNode('Function', 'subtotal', {
    code: '({ items }) => ({ order: { items, subtotal: items.reduce((sum, i) => sum + i.price * i.qty, 0) } })',
    items: '${items}',
  })
  .addNode('Switch', 'is-large', { field: 'subtotal', operator: '>=', value: 100 })
  .addNode('Function', 'discount', { code: '({ order }) => ({ order: { ...order, discount: Math.round(order.subtotal * 0.1 * 100) / 100 } })' })
  .addNode('Function', 'no-discount', { code: '({ order }) => ({ order: { ...order, discount: 0 } })' })
  .addNode('Merge', 'priced', { strategy: 'first' })
  .addNode('Function', 'receipt', {
    code: '({ order, customer }) => ({ customer, total: order.subtotal - order.discount, text: `${customer}: ${order.items.length} lines, total ${(order.subtotal - order.discount).toFixed(2)}` })',
    customer: '{{customer}}',
  })
  .addConnection('subtotal', 'order', 'is-large', 'input')
  .addConnection('is-large', 'true_output', 'discount', 'order')
  .addConnection('is-large', 'false_output', 'no-discount', 'order')
  .addConnection('discount', 'order', 'priced', 'data1')
  .addConnection('no-discount', 'order', 'priced', 'data2')
  .addConnection('priced', 'merged', 'receipt', 'order')
  .build({ name: 'price-order', description: 'Sums an order, discounts large ones, and writes a receipt.' })

/** Runs the workflow on two sample orders; what `npm start` shows until the server exists. */
export async function runSamples(print: (line: string) => void = console.log): Promise<void> {
  const runtime = new LocalRuntime()
  const orders = [
    { customer: 'Ada', items: [{ sku: 'lamp', price: 45, qty: 3 }] },
    { customer: 'Grace', items: [{ sku: 'pen', price: 2.5, qty: 4 }, { sku: 'pad', price: 6, qty: 1 }] },
  ]
  for (const parameters of orders) {
    const { results, runId } = await runtime.execute(workflow, { parameters })
    print(`[${workflow.name} ${runId.slice(0, 8)}] ${String(results.receipt?.text)}`)
  }
}

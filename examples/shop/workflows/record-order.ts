import { WorkflowBuilder } from '../../../src/index.js'
import '../models.js'

/**
 * Stores an order with the generated `OrderCreateNode` and counts the customer's orders with
 * `OrderCountNode`. Inputs: `customer`, `total`.
 */
export const workflow = new WorkflowBuilder()
  .addNode('OrderCreateNode', 'store', { customer: '${customer}', total: '${total}' })
  .addNode('OrderCountNode', 'count', { filter: { customer: '${customer}' } })
  .addNode('Function', 'summary', { code: '({ order, orders }) => ({ text: `order #${order.id} for ${order.customer} stored; orders on file for ${order.customer}: ${orders.count}` })' })
  .addConnection('store', '', 'summary', 'order')
  .addConnection('count', '', 'summary', 'orders')
  .build({ name: 'record-order', description: 'Stores an order and counts what the customer has on file.' })

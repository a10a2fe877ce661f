import { svg } from './dom.js'

export interface GraphNode {
  id: string
  type: string
}
export interface GraphEdge {
  source: string
  target: string
}

const COLUMN = 170
const ROW = 46
const BOX = { width: 140, height: 30 }

/**
 * A small drawing of a workflow's graph: nodes in columns by their depth (the longest path from a
 * node with no inputs), edges as lines. Enough for the few to few dozen nodes a workflow has.
 */
export function drawGraph(nodes: GraphNode[], edges: GraphEdge[]): SVGSVGElement {
  const depth = new Map(nodes.map((node) => [node.id, 0]))
  // Longest path by relaxation: a workflow is acyclic (build() refuses cycles), so this ends.
  for (let changed = true, rounds = 0; changed && rounds <= nodes.length; rounds++) {
    changed = false
    for (const edge of edges) {
      const next = (depth.get(edge.source) ?? 0) + 1
      if (next > (depth.get(edge.target) ?? 0)) {
        depth.set(edge.target, next)
        changed = true
      }
    }
  }
  const columns = new Map<number, GraphNode[]>()
  for (const node of nodes) {
    const d = depth.get(node.id) ?? 0
    columns.set(d, [...(columns.get(d) ?? []), node])
  }
  const position = new Map<string, { x: number; y: number }>()
  for (const [d, column] of columns) column.forEach((node, index) => position.set(node.id, { x: 10 + d * COLUMN, y: 10 + index * ROW }))
  const width = 20 + Math.max(1, columns.size) * COLUMN
  const height = 20 + Math.max(1, ...[...columns.values()].map((c) => c.length)) * ROW
  const lines = edges.flatMap((edge) => {
    const from = position.get(edge.source)
    const to = position.get(edge.target)
    if (from === undefined || to === undefined) return []
    return [svg('line', { x1: from.x + BOX.width, y1: from.y + BOX.height / 2, x2: to.x, y2: to.y + BOX.height / 2, 'marker-end': 'url(#arrow)' })]
  })
  const boxes = nodes.map((node) => {
    const { x, y } = position.get(node.id) ?? { x: 0, y: 0 }
    return svg('g', { 'data-node': node.id }, svg('title', {}, `${node.id} (${node.type})`), svg('rect', { x, y, width: BOX.width, height: BOX.height }), svg('text', { x: x + 6, y: y + 13 }, node.id.slice(0, 20)), svg('text', { x: x + 6, y: y + 25, opacity: 0.6 }, node.type.slice(0, 22)))
  })
  const defs = svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#9fb3c8' })))
  return svg('svg', { class: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `graph of ${nodes.length} nodes` }, defs, lines, boxes)
}

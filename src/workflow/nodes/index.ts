export { FunctionNode } from './function-node.js'
export { HttpRequestNode } from './http-request-node.js'
export { MergeNode } from './merge-node.js'
export { SwitchNode } from './switch-node.js'

export { VERSION } from './version.js'
export {
  NexflowError,
  ValidationError,
  WorkflowExecutionError,
  WorkflowAbortedError,
  HTTP_STATUS_BY_CODE,
  MAX_CAUSE_DEPTH,
  isErrorCode,
  serializeError,
  toNexflowError,
  type ErrorCode,
  type SerializedError,
  type SerializeOptions,
} from './errors.js'
export { defineNode, isNodeDefinition, type NodeDefinition, type NodeContext, type NodeOutput, type NodeSpec } from './workflow/node.js'
export { NodeRegistry, type RegisterOptions } from './workflow/registry.js'
export { defaultRegistry } from './workflow/default-registry.js'
export { WorkflowBuilder, type BuildOptions, type BuilderOptions } from './workflow/builder.js'
export { Workflow } from './workflow/workflow.js'
export { callerInputSchema, validateCallerInputs } from './workflow/caller-inputs.js'
export { workflowProblems, type WorkflowProblem } from './workflow/validate.js'
export { LocalRuntime, type ExecuteOptions, type ExecutionResult, type FailedNodeOutput, type LocalRuntimeOptions, type NodeOutcome, type RunObserver } from './workflow/runtime.js'
export { FunctionNode, HttpRequestNode, MergeNode, SwitchNode } from './workflow/nodes/index.js'
export type { WorkflowJson, WorkflowNodeJson, ConnectionJson } from './protocol/workflow-json.js'
export type { JsonValue } from './protocol/json.js'
export {
  DataFlow,
  Model,
  DATAFLOW_DEFAULTS,
  dataflowOptionsSchema,
  parseDatabaseUrl,
  redactDatabaseUrl,
  defaultSqlitePath,
  defaultTableName,
  NODE_OPERATIONS,
  nodeTypeNames,
  FILTER_OPERATORS,
  type DataFlowOptions,
  type DataFlowLogger,
  type DatabaseTarget,
  type ModelShape,
  type ModelOptions,
  type IndexOptions,
  type NodeOperation,
  type Filter,
  type FieldCondition,
  type FilterOperator,
  type MigrationPlan,
  type ModelMigration,
  type ColumnDrift,
  type DataFlowMetrics,
  type NodeMetrics,
  type SlowQuery,
  type OrderBy,
  type ConflictResolution,
  type ModelKey,
  type ModelRecord,
  type CreateInput,
  type FieldsInput,
  type ReadInput,
  type ReadResult,
  type UpdateInput,
  type UpdateResult,
  type ListInput,
  type ListResult,
  type UpsertInput,
  type UpsertResult,
  type BulkCreateInput,
  type BulkCreateResult,
  type BulkUpsertInput,
  type BulkUpsertResult,
} from './dataflow/index.js'
// Discovery: importing user files in isolated workers, never on the calling thread.
export {
  discover,
  findCandidates,
  resolveDiscoveryOptions,
  DEFAULT_PATTERNS,
  DEFAULT_IGNORE,
  DISCOVERY_DEFAULTS,
  type DiscoveryOptions,
  type ResolvedDiscoveryOptions,
  type Isolation,
  type DiscoveryRun,
  type StartedFile,
  type DiscoveryReport,
  type FileResult,
} from './discovery/index.js'
export { FILE_STATUSES, FILE_STATUS_KINDS, isFailure, isPassing, type FailureStatus, type FileStatus, type FileManifest, type DiscoveredWorkflow, type DiscoveredNodeType } from './protocol/discovery.js'
// The server: every workflow over HTTP, discovered in isolation, run in worker threads.
export { Nexus, type NexusState, type StartOptions } from './server/nexus.js'
export { toolNameOf } from './server/mcp/tool-names.js'
export type { ServerEvent } from './server/events.js'
export { boundedPayload, RecentRuns, type RunRecord, type RunSource } from './server/runs/recent-runs.js'
export type { RunContext } from './server/http/app.js'
export type { Principal } from './server/http/auth.js'
export type { RunOutcome } from './server/metrics.js'
export { defineConfig, resolveNexusOptions, NEXUS_DEFAULTS, type NexusOptions, type NexusConfig, type NexusDiscoveryOptions, type NexusLogger, type ResolvedNexusOptions } from './server/options.js'
export {
  PRODUCTION_DEFAULTS,
  API_KEY_LENGTH,
  JWT_SECRET_MIN_BYTES,
  type ProductionOptions,
  type AuthOptions,
  type JwtOptions,
  type RateLimitOptions,
  type CorsOptions,
  type SecureHeadersConfig,
  type LogOptions,
  type ResolvedProductionOptions,
  type ResolvedAuth,
  type ResolvedJwt,
  type ResolvedCors,
} from './server/production-options.js'

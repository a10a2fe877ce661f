import { z } from 'zod'
import { modelManifestSchema, type ModelManifest } from '../protocol/dataflow-manifest.js'
import { TableCodec } from './codec.js'
import { Params, type Executor, type SqlDialect } from './dialects/dialect.js'
import { sha256 } from '../sha256.js'
import { ensureBookkeepingTable, inspectTable } from './migrations.js'
import { defineModelSpec, modelManifest, type ModelSpec } from './model.js'

/**
 * `dataflow_model_registry`: one row per (application id, model name) holding the model's
 * manifest, so another app (or a tool) can load models it did not define.
 */
export const MODEL_REGISTRY_MODEL = defineModelSpec(
  'DataflowModelRegistry',
  { applicationId: z.string().max(255), modelName: z.string().max(255), definition: z.string(), checksum: z.string().max(64) },
  { tableName: 'dataflow_model_registry', indexes: [{ fields: ['applicationId', 'modelName'], unique: true, name: 'uq_dataflow_model_registry_app_model' }] },
)

/** Writes each model's manifest for `applicationId`: inserted when new, updated when it changed. Runs under the migration lock. */
export async function persistModels(tx: Executor, sql: SqlDialect, specs: readonly ModelSpec[], applicationId: string): Promise<void> {
  await ensureBookkeepingTable(tx, sql, MODEL_REGISTRY_MODEL)
  const codec = new TableCodec(MODEL_REGISTRY_MODEL, sql)
  const col = (name: string) => codec.column(name) as NonNullable<ReturnType<TableCodec['column']>>
  const [app, model, definition, checksum, createdAt, updatedAt, id] = ['applicationId', 'modelName', 'definition', 'checksum', 'created_at', 'updated_at', 'id'].map(col) as [
    ReturnType<typeof col>,
    ReturnType<typeof col>,
    ReturnType<typeof col>,
    ReturnType<typeof col>,
    ReturnType<typeof col>,
    ReturnType<typeof col>,
    ReturnType<typeof col>,
  ]
  for (const spec of specs) {
    const json = JSON.stringify(modelManifest(spec))
    const sum = sha256(json)
    const find = new Params(sql)
    const rows = await tx.all(`SELECT ${id.quoted} AS id, ${checksum.quoted} AS checksum FROM ${codec.table} WHERE ${app.quoted} = ${find.bind(applicationId)} AND ${model.quoted} = ${find.bind(spec.name)}`, find.values)
    const now = new Date()
    const params = new Params(sql)
    const existing = rows[0]
    if (existing === undefined) {
      const values = [applicationId, spec.name, json, sum].map((v) => params.bind(v))
      values.push(params.bind(createdAt.encode(now)), params.bind(updatedAt.encode(now)))
      await tx.run(`INSERT INTO ${codec.table} (${[app, model, definition, checksum, createdAt, updatedAt].map((c) => c.quoted).join(', ')}) VALUES (${values.join(', ')})`, params.values)
    } else if (existing.checksum !== sum) {
      await tx.run(
        `UPDATE ${codec.table} SET ${definition.quoted} = ${params.bind(json)}, ${checksum.quoted} = ${params.bind(sum)}, ${updatedAt.quoted} = ${params.bind(updatedAt.encode(now))} WHERE ${id.quoted} = ${params.bind(existing.id)}`,
        params.values,
      )
    }
  }
}

/** True when every model's manifest is already stored unchanged (no write, no lock needed). */
export async function modelsPersisted(ex: Executor, sql: SqlDialect, specs: readonly ModelSpec[], applicationId: string): Promise<boolean> {
  if ((await inspectTable(ex, sql, MODEL_REGISTRY_MODEL.tableName)) === undefined) return false
  const stored = await readChecksums(ex, sql, applicationId)
  return specs.every((spec) => stored.get(spec.name) === sha256(JSON.stringify(modelManifest(spec))))
}

async function readChecksums(ex: Executor, sql: SqlDialect, applicationId: string): Promise<Map<string, string>> {
  const codec = new TableCodec(MODEL_REGISTRY_MODEL, sql)
  const params = new Params(sql)
  const app = codec.column('applicationId')!.quoted
  const rows = await ex.all(`SELECT ${codec.column('modelName')!.quoted} AS name, ${codec.column('checksum')!.quoted} AS checksum FROM ${codec.table} WHERE ${app} = ${params.bind(applicationId)}`, params.values)
  return new Map(rows.map((r) => [String(r.name), String(r.checksum)]))
}

/** A stored model definition. */
export interface PersistedModel {
  applicationId: string
  manifest: ModelManifest
  updatedAt: Date
}

/** Reads stored models, of one application or of all (newest first). Empty when nothing was ever persisted. */
export async function readPersistedModels(ex: Executor, sql: SqlDialect, applicationId?: string): Promise<PersistedModel[]> {
  if ((await inspectTable(ex, sql, MODEL_REGISTRY_MODEL.tableName)) === undefined) return []
  const codec = new TableCodec(MODEL_REGISTRY_MODEL, sql)
  const params = new Params(sql)
  const filter = applicationId === undefined ? '' : ` WHERE ${codec.column('applicationId')!.quoted} = ${params.bind(applicationId)}`
  const rows = await ex.all(`SELECT ${codec.selectList} FROM ${codec.table}${filter} ORDER BY ${codec.column('updated_at')!.quoted} DESC`, params.values)
  return rows.map((raw) => {
    const row = codec.decodeRow(raw)
    return { applicationId: String(row.applicationId), manifest: modelManifestSchema.parse(JSON.parse(String(row.definition))), updatedAt: row.updated_at as Date }
  })
}

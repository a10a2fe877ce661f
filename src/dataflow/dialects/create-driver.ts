import type { DatabaseTarget } from '../database-url.js'
import type { Driver } from './dialect.js'
import { MysqlDriver } from './mysql/mysql-driver.js'
import { PostgresDriver } from './postgres/postgres-driver.js'
import { SqliteDriver } from './sqlite/sqlite-driver.js'

/** The driver for a target. Creating it does no I/O; it connects on `open()`. */
export function createDriver(target: DatabaseTarget, poolSize: number): Driver {
  switch (target.dialect) {
    case 'sqlite':
      return new SqliteDriver(target.path)
    case 'postgres':
      return new PostgresDriver({ connectionString: target.connectionString, schema: target.schema, poolSize })
    case 'mysql':
      return new MysqlDriver({ uri: target.uri, database: target.database, poolSize })
  }
}

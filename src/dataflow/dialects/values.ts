/** Value conversions every dialect shares. Input was validated by zod first, so these only convert. */

/** A Date from a Date or an ISO-8601 string. */
export function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string)
}

/** Drivers bind Buffers; a plain Uint8Array is wrapped without copying. */
export function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value
  const bytes = value as Uint8Array
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** JSON columns hold the JSON text of any value; JS `null` stays SQL NULL. */
export function jsonEncode(value: unknown): unknown {
  return value == null ? null : JSON.stringify(value)
}

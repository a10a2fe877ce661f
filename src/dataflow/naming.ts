/**
 * Table and column names derived from model and field names: snake_case, and tables in the
 * plural (`User` -> `users`, `Person` -> `people`, `OrderItem` -> `order_items`), the way the
 * source system named them, so ported apps find their existing tables.
 */

/** Identifiers we create: one word of letters, digits and `_`, short enough for every dialect (PostgreSQL cuts at 63). */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** `fullName` -> `full_name`, `HTTPLog` -> `http_log`, `userV2` -> `user_v2`; snake_case stays as it is. */
export function toSnakeCase(name: string): string {
  if (!/[A-Z]/.test(name)) return name
  return name
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
}

const IRREGULAR: Record<string, string> = {
  person: 'people',
  man: 'men',
  woman: 'women',
  child: 'children',
  mouse: 'mice',
  goose: 'geese',
  tooth: 'teeth',
  foot: 'feet',
  ox: 'oxen',
  leaf: 'leaves',
  life: 'lives',
  knife: 'knives',
  wife: 'wives',
  half: 'halves',
  shelf: 'shelves',
  thief: 'thieves',
  wolf: 'wolves',
  analysis: 'analyses',
  crisis: 'crises',
  thesis: 'theses',
  axis: 'axes',
  index: 'indices',
  matrix: 'matrices',
  vertex: 'vertices',
  quiz: 'quizzes',
  criterion: 'criteria',
  datum: 'data',
}

const UNCOUNTABLE = new Set(['data', 'metadata', 'information', 'equipment', 'news', 'series', 'species', 'sheep', 'fish', 'deer', 'money', 'rice', 'feedback', 'software', 'staff'])

/** English plural of one lower-case word. */
export function pluralize(word: string): string {
  if (UNCOUNTABLE.has(word)) return word
  const irregular = IRREGULAR[word]
  if (irregular !== undefined) return irregular
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`
  return `${word}s`
}

/** The default table of a model: snake_case with the last word in the plural. */
export function defaultTableName(modelName: string): string {
  const snake = toSnakeCase(modelName)
  const cut = snake.lastIndexOf('_')
  return cut === -1 ? pluralize(snake) : `${snake.slice(0, cut + 1)}${pluralize(snake.slice(cut + 1))}`
}

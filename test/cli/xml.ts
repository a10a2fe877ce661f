// A strict, minimal XML 1.0 reader for tests: enough to prove a JUnit report is well-formed and
// to read back exactly what a consumer would see. Throws on anything a conforming parser rejects
// among the constructs our reporter can produce.

export interface XmlElement {
  name: string
  attributes: Record<string, string>
  children: XmlElement[]
  text: string
}

const NAME = /^[A-Za-z_:][\w.:-]*/
const CHAR = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

export function parseXml(source: string): XmlElement {
  if (!CHAR.test(source)) throw new Error('document contains characters XML 1.0 forbids')
  let pos = 0
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${pos}: ${JSON.stringify(source.slice(pos, pos + 40))}`)
  }
  const skipSpace = () => {
    while (pos < source.length && ' \t\r\n'.includes(source[pos] as string)) pos++
  }
  const decode = (raw: string, inAttribute: boolean): string => {
    if (inAttribute && raw.includes('<')) fail('raw < in an attribute')
    // Attribute-value normalization: literal whitespace characters become spaces.
    const normalized = inAttribute ? raw.replace(/[\t\n\r]/g, ' ') : raw.replace(/\r\n?/g, '\n')
    return normalized.replace(/&([^;]*);|&/g, (match, ref: string | undefined) => {
      if (ref === undefined) return fail('bare &')
      if (ref in ENTITIES) return ENTITIES[ref] as string
      const code = /^#x([0-9a-fA-F]+)$/.exec(ref)?.[1] ?? /^#(\d+)$/.exec(ref)?.[1]
      if (code === undefined) return fail(`unknown entity ${match}`)
      const point = ref.startsWith('#x') ? parseInt(code, 16) : parseInt(code, 10)
      const char = String.fromCodePoint(point)
      if (!CHAR.test(char)) fail(`reference to a forbidden character ${match}`)
      return char
    })
  }
  const readName = () => {
    const match = NAME.exec(source.slice(pos))
    if (match === null) return fail('expected a name')
    pos += match[0].length
    return match[0]
  }
  const element = (): XmlElement => {
    if (source[pos] !== '<') fail('expected <')
    pos++
    const name = readName()
    const attributes: Record<string, string> = {}
    for (;;) {
      skipSpace()
      if (source.startsWith('/>', pos)) {
        pos += 2
        return { name, attributes, children: [], text: '' }
      }
      if (source[pos] === '>') {
        pos++
        break
      }
      const key = readName()
      if (key in attributes) fail(`duplicate attribute ${key}`)
      skipSpace()
      if (source[pos] !== '=') fail('expected =')
      pos++
      skipSpace()
      const quote = source[pos]
      if (quote !== '"' && quote !== "'") return fail('expected a quoted value')
      const end = source.indexOf(quote, pos + 1)
      if (end < 0) fail('unterminated attribute')
      attributes[key] = decode(source.slice(pos + 1, end), true)
      pos = end + 1
    }
    const children: XmlElement[] = []
    let text = ''
    for (;;) {
      const next = source.indexOf('<', pos)
      if (next < 0) fail(`unclosed <${name}>`)
      const raw = source.slice(pos, next)
      if (raw.includes(']]>')) fail(']]> in text')
      text += decode(raw, false)
      pos = next
      if (source.startsWith('</', pos)) {
        pos += 2
        if (readName() !== name) fail(`mismatched </...> for <${name}>`)
        skipSpace()
        if (source[pos] !== '>') fail('expected >')
        pos++
        return { name, attributes, children, text }
      }
      children.push(element())
    }
  }
  const declaration = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n?/.exec(source)
  if (declaration === null) fail('missing XML declaration')
  pos = declaration?.[0].length ?? 0
  skipSpace()
  const root = element()
  skipSpace()
  if (pos !== source.length) fail('content after the root element')
  return root
}

/** Every descendant element with this name, depth first. */
export function findAll(element: XmlElement, name: string): XmlElement[] {
  const found: XmlElement[] = []
  for (const child of element.children) {
    if (child.name === name) found.push(child)
    found.push(...findAll(child, name))
  }
  return found
}

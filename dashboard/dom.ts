/** Tiny DOM helpers: the page builds its elements with these instead of a framework. */

type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | undefined>

function apply(element: Element, attrs: Attrs, children: (Child | Child[])[]): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    element.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    element.append(typeof child === 'object' ? child : String(child))
  }
}

/** An HTML element with attributes and children (text is always text, never parsed as HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  apply(element, attrs, children)
  return element
}

/** An SVG element: the waterfall's and the graph's drawing. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag)
  apply(element, attrs, children)
  return element
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id)
  if (element === null) throw new Error(`the page has no #${id}`)
  return element as T
}

/** `1.23 s`, `45 ms`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s` : `${Math.round(ms)} ms`
}

/** JSON for people: indented, and cut short when long (the full value stays in the API). */
export function pretty(value: unknown, max = 4000): string {
  const text = JSON.stringify(value, null, 2) ?? String(value)
  return text.length > max ? `${text.slice(0, max)}\n…` : text
}

/** One server-sent event as a client sees it. */
export interface SseEvent {
  event: string
  data: string
  id: string | undefined
}

/**
 * The events of a `text/event-stream` response, parsed as they arrive (per the WHATWG rules this
 * server uses: `event:`, `data:` lines joined by newlines, `id:`, a blank line ends an event).
 */
export async function* sseEvents(response: Response): AsyncGenerator<SseEvent> {
  if (response.body === null) return
  const decoder = new TextDecoder()
  let buffer = ''
  let current: { event?: string; data: string[]; id?: string } = { data: [] }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    for (let end = buffer.search(/\r\n|\r|\n/); end !== -1; end = buffer.search(/\r\n|\r|\n/)) {
      const line = buffer.slice(0, end)
      buffer = buffer.slice(buffer.startsWith('\r\n', end) ? end + 2 : end + 1)
      if (line === '') {
        if (current.data.length > 0 || current.event !== undefined) yield { event: current.event ?? 'message', data: current.data.join('\n'), id: current.id }
        current = { data: [] }
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'event') current.event = value
      else if (field === 'data') current.data.push(value)
      else if (field === 'id') current.id = value
    }
  }
}

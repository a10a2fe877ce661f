import { describe, expect, it } from 'vitest'
import { startOptions } from '../../src/cli/commands/start.js'
import { parseStartArgs, StartUsageError } from '../../src/cli/start-options.js'

// A real folder: the options check that discovery's root exists.
const cwd = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')
const configFile = `${cwd}/nexflow.config.json`

describe('nexflow start flags', () => {
  it('parses every flag, and leaves unset what was not given', () => {
    expect(parseStartArgs(['site', '--port', '0', '--host', '0.0.0.0', '--timeout-ms', '5000', '--isolation', 'process', '--no-cache', '--workers', '3', '--run-timeout-ms', '100', '--max-memory-mb', '64', '--max-body-bytes', '2048'], cwd)).toEqual({
      help: false,
      root: `${cwd}/site`,
      port: 0,
      host: '0.0.0.0',
      timeoutMs: 5000,
      isolation: 'process',
      cache: false,
      workers: 3,
      runTimeoutMs: 100,
      maxMemoryMb: 64,
      maxBodyBytes: 2048,
    })
    expect(parseStartArgs([], cwd)).toEqual({ help: false, root: cwd })
  })

  it('an unknown flag names the closest one and lists them all', () => {
    expect(() => parseStartArgs(['--prot', '80'], cwd)).toThrow(/unknown flag --prot \(did you mean --port\?\); the flags are .*--run-timeout-ms/)
    expect(() => parseStartArgs(['--timeout', '80'], cwd)).toThrow(/did you mean --timeout-ms\?/)
  })

  it('a bad value names the flag and gives an example', () => {
    expect(() => parseStartArgs(['--port', '70000'], cwd)).toThrow(StartUsageError)
    expect(() => parseStartArgs(['--port', 'http'], cwd)).toThrow(/--port: expected a whole number from 0 to 65535, got "http"; for example --port 8000/)
    expect(() => parseStartArgs(['--isolation', 'vm'], cwd)).toThrow(/--isolation: expected "thread" or "process"/)
    expect(() => parseStartArgs(['a', 'b'], cwd)).toThrow(/takes one root folder/)
  })
})

describe('flags over the config file over the defaults', () => {
  it('a flag wins over the config file, the config file over the defaults', () => {
    const flags = parseStartArgs(['--port', '9000', '--timeout-ms', '1000'], cwd)
    const options = startOptions(flags, { apiPort: 8001, runTimeoutMs: 5000, autoDiscovery: { timeoutMs: 3000, concurrency: 1 } }, configFile)
    expect(options).toMatchObject({ apiPort: 9000, runTimeoutMs: 5000, root: cwd, autoDiscovery: { timeoutMs: 1000, concurrency: 1 } })
    expect(options.workers).toBeUndefined()
  })

  it('--no-discovery turns discovery off; a config that turned it off stays off unless --discovery', () => {
    expect(startOptions(parseStartArgs(['--no-discovery'], cwd), undefined, undefined).autoDiscovery).toBe(false)
    expect(startOptions(parseStartArgs([], cwd), { autoDiscovery: false }, configFile).autoDiscovery).toBe(false)
    expect(startOptions(parseStartArgs(['--discovery'], cwd), { autoDiscovery: false }, configFile).autoDiscovery).toEqual({})
  })

  it('--rate-limit sets the limit; whether counts are shared still comes from the config', () => {
    expect(startOptions(parseStartArgs(['--rate-limit', '5/1m'], cwd), { rateLimit: { windowMs: 1000, max: 1, shared: false } }, configFile).rateLimit).toEqual({ windowMs: 60_000, max: 5, shared: false })
    expect(startOptions(parseStartArgs(['--rate-limit', '5/1m'], cwd), { rateLimit: false }, configFile).rateLimit).toEqual({ windowMs: 60_000, max: 5 })
  })

  it("a config file's root is relative to the file", () => {
    expect(startOptions(parseStartArgs([], cwd), { root: 'src' }, configFile).root).toBe(`${cwd}/src`)
  })

  it('an unknown or invalid key in the config file is CONFIG_INVALID naming the file and the key', () => {
    const flags = parseStartArgs([], cwd)
    expect(() => startOptions(flags, { apiport: 1 }, '/srv/app/nexflow.config.ts')).toThrow(/\/srv\/app\/nexflow\.config\.ts: Unknown Nexus option `apiport` \(did you mean `apiPort`\?\)/)
    expect(() => startOptions(flags, { workers: 'many' }, '/srv/app/nexflow.config.ts')).toThrow(/nexflow\.config\.ts: Invalid Nexus option `workers`/)
  })
})

describe('production flags', () => {
  it('parses --rate-limit <n>/<window>, --cors-origin (repeatable) and the --no- flags', () => {
    expect(parseStartArgs(['--rate-limit', '100/1m', '--cors-origin', 'https://a.example', '--cors-origin', 'http://localhost:5173', '--no-auth', '--no-secure-headers', '--no-metrics', '--no-request-log', '--log-format', 'text'], cwd)).toEqual({
      help: false,
      root: cwd,
      rateLimit: { max: 100, windowMs: 60_000 },
      corsOrigins: ['https://a.example', 'http://localhost:5173'],
      auth: false,
      secureHeaders: false,
      metrics: false,
      requestLog: false,
      logFormat: 'text',
    })
    expect(parseStartArgs(['--no-dashboard'], cwd).dashboard).toBe(false)
    expect(parseStartArgs([], cwd).dashboard).toBeUndefined()
    expect(parseStartArgs(['--rate-limit', '10/30s'], cwd).rateLimit).toEqual({ max: 10, windowMs: 30_000 })
    expect(parseStartArgs(['--rate-limit', '5000/h'], cwd).rateLimit).toEqual({ max: 5000, windowMs: 3_600_000 })
  })

  it('a bad production flag names itself and gives an example', () => {
    expect(() => parseStartArgs(['--rate-limit', '100'], cwd)).toThrow(/--rate-limit: expected <requests>\/<window>.*got "100"; for example --rate-limit 100\/1m/)
    expect(() => parseStartArgs(['--rate-limit', '0/1m'], cwd)).toThrow(/--rate-limit/)
    expect(() => parseStartArgs(['--rate-limit', '10/10ms'], cwd)).toThrow(/from 1s to 24h/)
    expect(() => parseStartArgs(['--cors-origin', 'https://a.example/app'], cwd)).toThrow(/--cors-origin: expected "\*" or an origin/)
    expect(() => parseStartArgs(['--log-format', 'xml'], cwd)).toThrow(/--log-format: expected "json" or "text"/)
    expect(() => parseStartArgs(['--auth'], cwd)).toThrow(/API keys come from NEXFLOW_API_KEYS/)
    expect(() => parseStartArgs(['--no-metric'], cwd)).toThrow(/did you mean --no-metrics\?/)
  })

  it('the flags win over the config file: rate limit, CORS origins, auth off, log settings merged', () => {
    const config = { rateLimit: { windowMs: 1000, max: 1 }, cors: { origin: 'https://old.example', credentials: true }, auth: { apiKeys: ['k'.repeat(20)] }, log: { runs: false } }
    const options = startOptions(parseStartArgs(['--rate-limit', '100/1m', '--cors-origin', 'https://new.example', '--no-auth', '--no-request-log'], cwd), config, configFile)
    expect(options).toMatchObject({ rateLimit: { windowMs: 60_000, max: 100 }, cors: { origin: ['https://new.example'], credentials: true }, auth: false, log: { runs: false, requests: false } })
    expect(startOptions(parseStartArgs([], cwd), config, configFile)).toMatchObject(config)
  })
})

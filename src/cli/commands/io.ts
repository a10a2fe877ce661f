/** What a command talks to; injected so commands run the same in the CLI and in tests. */
export interface CommandIo {
  out: NodeJS.WritableStream
  err: NodeJS.WritableStream
  cwd: string
  env: NodeJS.ProcessEnv
  /**
   * The command is the process's entry point, so it may end the process itself once its output
   * is written (see `hard-exit.ts`); otherwise it only returns its exit code.
   */
  ownsProcess: boolean
}

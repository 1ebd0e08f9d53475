// Progress of a bulk operation on stderr: a bar redrawn in place when stderr is a terminal, plain
// `n/N label` lines otherwise (logs, CI), nothing at all when disabled (--json).
export interface ProgressSink {
  write(chunk: string): unknown
  isTTY?: boolean
  columns?: number
}

export class Progress {
  #done = 0
  constructor(
    private readonly sink: ProgressSink,
    private readonly total: number,
    private readonly enabled = true,
  ) {}

  /** One more item finished; `label` says which (and how it went). */
  tick(label: string): void {
    this.#done++
    if (!this.enabled) return
    const count = `${this.#done}/${this.total}`
    if (!this.sink.isTTY) return void this.sink.write(`${count} ${label}\n`)
    const width = 30
    const filled = this.total ? Math.round((this.#done / this.total) * width) : width
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${count} ${label}`
    const max = (this.sink.columns ?? 80) - 1
    this.sink.write(`\r${line.length > max ? line.slice(0, max) : line}\x1b[K`)
    if (this.#done === this.total) this.sink.write('\n')
  }
}

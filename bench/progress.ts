/* Progress of a bench run on stderr: a cli-progress bar when stdout is a terminal, otherwise one
 * "[bench] ..." line per step. Invariant: stdout carries only the report, so it can be piped.
 * Why: a run takes minutes, and CI logs must stay readable without carriage-return redraws. */
import cliProgress from 'cli-progress'

export class Progress {
  readonly #bar: cliProgress.SingleBar | null
  #stepsDone = 0

  constructor(stepsTotal: number) {
    const interactive = process.stdout.isTTY && process.stderr.isTTY
    this.#bar = interactive
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: '{bar} {value}/{total} | {step}',
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : null
    this.#bar?.start(stepsTotal, 0, { step: 'starting' })
  }

  /** Announces the step about to run. */
  begin(step: string): void {
    if (this.#bar === null) process.stderr.write(`[bench] ${step}\n`)
    else this.#bar.update(this.#stepsDone, { step })
  }

  /** Marks one step done. */
  advance(): void {
    this.#stepsDone += 1
    this.#bar?.update(this.#stepsDone)
  }

  /** Prints a note without tearing the bar. */
  note(text: string): void {
    if (this.#bar === null) process.stderr.write(`[bench] ${text}\n`)
    else process.stderr.write(`\r\x1b[K${text}\n`)
  }

  stop(): void {
    this.#bar?.stop()
  }
}

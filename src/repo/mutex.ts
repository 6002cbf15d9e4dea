/**
 * An async mutex: serialises the store's writers (add, gc, ref updates)
 * inside one process. Across processes the LevelDB lock keeps one owner.
 */

/** Run functions one at a time, in call order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve()

  /** Run `fn` once every earlier call has settled. */
  async run<T> (fn: () => Promise<T>): Promise<T> {
    const prev = this.tail
    let release!: () => void
    this.tail = new Promise<void>(resolve => { release = resolve })
    try {
      await prev
      return await fn()
    } finally {
      release()
    }
  }
}

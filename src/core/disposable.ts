export interface Disposable {
  dispose(): unknown;
}

/** Disposes in reverse order; anything added after disposal is disposed at once. */
export class DisposableList implements Disposable {
  private items: Disposable[] = [];
  private disposed = false;

  add<T extends Disposable>(item: T): T {
    if (this.disposed) void item.dispose();
    else this.items.push(item);
    return item;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const item of this.items.reverse()) {
      try {
        void item.dispose();
      } catch {
        // One failing cleanup must not stop the others.
      }
    }
    this.items = [];
  }
}

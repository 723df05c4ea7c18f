/** A small typed event hub: listeners never break the emitter, their errors go to `onListenerError`. */
export class EventHub<Events extends { [K in keyof Events]: unknown }> {
  private listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  onListenerError: (error: unknown, event: keyof Events) => void = () => {};

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  /** True when someone listens to `event`, so an emitter can skip building a payload nobody reads. */
  has<K extends keyof Events>(event: K): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }
}

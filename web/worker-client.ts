// The page's side of the worker (web/worker.ts): requests as promises, events to a listener.

import type { Answers, Control, Event, Reply, Request } from './protocol.js';

export class WorkerClient {
  private readonly worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 1;

  constructor(onEvent: (event: Event) => void, onCrash: (message: string) => void) {
    this.worker.onmessage = ({ data }: MessageEvent<Reply | Event>) => {
      if ('event' in data) return onEvent(data);
      const waiter = this.waiting.get(data.id)!;
      this.waiting.delete(data.id);
      if (data.ok) waiter.resolve(data.value);
      else waiter.reject(new Error(data.error));
    };
    this.worker.onerror = (event) => {
      const message = `the worker stopped: ${event.message || 'an error it could not report'}`;
      for (const waiter of this.waiting.values()) waiter.reject(new Error(message));
      this.waiting.clear();
      onCrash(message);
    };
  }

  call<T extends Request['type']>(request: Extract<Request, { type: T }>): Promise<Answers[T]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, ...request });
    });
  }

  control(message: Control): void {
    this.worker.postMessage(message);
  }
}

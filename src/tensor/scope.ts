// Scopes: every tensor created inside `scope(fn)` is disposed when fn returns, except the tensors
// that fn returns (they move to the enclosing scope) and those passed to `keep`.

export interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

const stack: Set<Disposable>[] = [];

/** Registers a newly created tensor with the innermost open scope, if any. */
export function track<T extends Disposable>(t: T): T {
  stack[stack.length - 1]?.add(t);
  return t;
}

/** Takes a tensor out of every open scope: it lives until its own `dispose()`. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

function collect(value: unknown, into: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if (isDisposable(value)) {
    into.add(value);
    return;
  }
  const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const item of items) collect(item, into, depth + 1);
}

function isDisposable(v: object): v is Disposable {
  return typeof (v as Disposable).dispose === 'function' && typeof (v as Disposable).disposed === 'boolean';
}

function close(frame: Set<Disposable>, result: unknown): void {
  const returned = new Set<Disposable>();
  collect(result, returned);
  for (const t of frame) {
    if (returned.has(t)) continue;
    if (!t.disposed) t.dispose();
  }
  const parent = stack[stack.length - 1];
  if (parent) for (const t of returned) if (frame.has(t)) parent.add(t);
}

/** Runs fn; disposes every tensor it created except those it returns (in arrays/objects too). */
export function scope<T>(fn: () => T): T {
  const frame = new Set<Disposable>();
  stack.push(frame);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    close(frame, undefined);
    throw e;
  }
  stack.pop();
  close(frame, result);
  return result;
}

/**
 * The async form, for bodies that await read-backs. Scopes form one stack per process, so do not
 * interleave two async scopes concurrently.
 */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const frame = new Set<Disposable>();
  stack.push(frame);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    stack.splice(stack.indexOf(frame), 1);
    close(frame, undefined);
    throw e;
  }
  stack.splice(stack.indexOf(frame), 1);
  close(frame, result);
  return result;
}

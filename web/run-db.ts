// The fine-tuning run kept in the browser's IndexedDB, so that a reload (or a crash) resumes it:
// what it was started from (the user's files and settings; IndexedDB stores File objects as they
// are) and its last checkpoint (step, model files, AdamW state, the log up to that step). A
// checkpoint is one put in one transaction: a reload sees the previous one or the new one whole.

import type { train } from '../src/index.js';
import type { TrainChoice } from './protocol.js';

type TrainerState = train.TrainerState;
type LogRecord = train.LogRecord;

export interface Checkpoint {
  step: number;
  steps: number;
  /** The model files as `transseg train` writes last.safetensors and best.safetensors. */
  last: Uint8Array;
  best: Uint8Array | null;
  state: TrainerState;
  records: LogRecord[];
}

const DB_NAME = 'transseg-fine-tuning';
const STORE = 'run';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new Error(`IndexedDB: ${r.error?.message ?? 'request failed'}`));
  });
}

function open(): Promise<IDBDatabase> {
  const r = indexedDB.open(DB_NAME, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(STORE);
  return request(r);
}

async function withStore<T>(mode: IDBTransactionMode, use: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    const transaction = db.transaction(STORE, mode);
    const result = await request(use(transaction.objectStore(STORE)));
    await new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(new Error(`IndexedDB: ${transaction.error?.message ?? 'transaction failed'}`));
    });
    return result;
  } finally {
    db.close();
  }
}

/** Starts a new saved run (forgetting any previous one and its checkpoint). */
export async function saveRunStart(choice: TrainChoice): Promise<void> {
  await withStore('readwrite', (s) => s.clear());
  await withStore('readwrite', (s) => s.put(choice, 'choice'));
}

export const saveCheckpoint = (checkpoint: Checkpoint): Promise<IDBValidKey> => withStore('readwrite', (s) => s.put(checkpoint, 'checkpoint'));
export const savedChoice = (): Promise<TrainChoice | undefined> => withStore('readonly', (s) => s.get('choice') as IDBRequest<TrainChoice | undefined>);
export const savedCheckpoint = (): Promise<Checkpoint | undefined> => withStore('readonly', (s) => s.get('checkpoint') as IDBRequest<Checkpoint | undefined>);
export const forgetRun = (): Promise<undefined> => withStore('readwrite', (s) => s.clear());

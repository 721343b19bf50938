// Conversation history on this device only (main thread): IndexedDB through `idb` (promises over the raw
// request/transaction events, ~1 kB). Nothing here is ever sent anywhere. One record per conversation (a Start
// to its Stop); the newest one is what the conversation screen shows again after a reload.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export interface StoredLine {
  itemId: string;
  role: 'user' | 'assistant';
  text: string;
  interrupted: boolean;
}

export interface StoredConversation {
  id: string;
  /** Epoch ms of the Start, and of the last line saved. */
  startedAt: number;
  updatedAt: number;
  lines: StoredLine[];
}

/** What the list shows: no lines, so listing stays cheap however long the talks were. */
export interface ConversationSummary {
  id: string;
  startedAt: number;
  updatedAt: number;
  lineCount: number;
}

interface HistorySchema extends DBSchema {
  conversations: { key: string; value: StoredConversation; indexes: { byStart: number } };
  summaries: { key: string; value: ConversationSummary; indexes: { byStart: number } };
}

export interface HistoryStore {
  save(conversation: StoredConversation): Promise<void>;
  get(id: string): Promise<StoredConversation | null>;
  /** Newest first. */
  list(): Promise<ConversationSummary[]>;
  latest(): Promise<StoredConversation | null>;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
  close(): void;
}

export const HISTORY_DB = 'earshot-history';

export async function openHistory(name = HISTORY_DB): Promise<HistoryStore> {
  const db: IDBPDatabase<HistorySchema> = await openDB<HistorySchema>(name, 1, {
    upgrade(d) {
      d.createObjectStore('conversations', { keyPath: 'id' }).createIndex('byStart', 'startedAt');
      d.createObjectStore('summaries', { keyPath: 'id' }).createIndex('byStart', 'startedAt');
    },
  });
  return {
    async save(c) {
      const tx = db.transaction(['conversations', 'summaries'], 'readwrite');
      await Promise.all([
        tx.objectStore('conversations').put(c),
        tx.objectStore('summaries').put({ id: c.id, startedAt: c.startedAt, updatedAt: c.updatedAt, lineCount: c.lines.length }),
        tx.done,
      ]);
    },
    async get(id) {
      return (await db.get('conversations', id)) ?? null;
    },
    async list() {
      return (await db.getAllFromIndex('summaries', 'byStart')).reverse();
    },
    async latest() {
      const cursor = await db.transaction('conversations').store.index('byStart').openCursor(null, 'prev');
      return cursor?.value ?? null;
    },
    async remove(id) {
      const tx = db.transaction(['conversations', 'summaries'], 'readwrite');
      await Promise.all([tx.objectStore('conversations').delete(id), tx.objectStore('summaries').delete(id), tx.done]);
    },
    async clear() {
      const tx = db.transaction(['conversations', 'summaries'], 'readwrite');
      await Promise.all([tx.objectStore('conversations').clear(), tx.objectStore('summaries').clear(), tx.done]);
    },
    close() {
      db.close();
    },
  };
}

/** "1 Dec, 21:40 · 12 messages · 4 min" for the list (pure: the locale and time zone come from the caller). */
export function describeConversation(s: ConversationSummary, locale?: string, timeZone?: string): string {
  const when = new Date(s.startedAt).toLocaleString(locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', ...(timeZone ? { timeZone } : {}) });
  const minutes = Math.max(0, Math.round((s.updatedAt - s.startedAt) / 60_000));
  const length = minutes < 1 ? 'under a minute' : `${minutes} min`;
  return `${when} · ${s.lineCount} message${s.lineCount === 1 ? '' : 's'} · ${length}`;
}

export function newConversationId(now: number): string {
  return `c${now.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

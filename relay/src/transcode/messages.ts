// Messages between the event loop (transcode/pool.ts) and an Opus worker thread (transcode/opus.worker.ts).
// Every job carries an id; a worker answers jobs in the order it got them. Codec state (one decoder per link,
// one encoder per assistant audio stream) lives in the worker and is freed by `close` or `end`.

/** Which assistant audio stream a packet belongs to: one item's content part, as the provider names it. */
export interface StreamKey {
  response_id: string;
  item_id: string;
  output_index: number;
  content_index: number;
}

export interface EncodedPacket {
  opus: Uint8Array;
  /** 24 kHz samples of this stream before the packet. */
  sampleOffset: number;
  /** Valid samples in the packet (the last one of a stream is padded up to a whole Opus frame). */
  samples: number;
  end: boolean;
}

export type ToOpusWorker =
  | { kind: 'decode'; job: number; link: number; opus: Uint8Array }
  /** `delta` is the provider's `response.output_audio.delta` text as received: JSON and base64 are parsed here. */
  | { kind: 'encode'; job: number; link: number; delta: string }
  | { kind: 'end'; job: number; link: number; item_id: string; content_index: number }
  | { kind: 'close'; link: number };

export type FromOpusWorker =
  | { kind: 'decoded'; job: number; pcm: Uint8Array }
  | { kind: 'encoded'; job: number; stream: StreamKey | null; packets: EncodedPacket[] }
  | { kind: 'failed'; job: number; message: string };

export function assertNever(x: never): never {
  throw new Error(`unexpected message: ${JSON.stringify(x)}`);
}

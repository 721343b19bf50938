// Speakerphone echo: Chromium's echo canceller only subtracts audio it knows is being played, and it only knows
// about WebRTC peer-connection audio. So the playback graph's output goes through a local RTCPeerConnection pair
// (a -> b in this same page) into an <audio> element: now the canceller sees the assistant's voice as far-end
// audio and removes it from the microphone. Main thread only (RTCPeerConnection is not available in workers).

export interface Loopback {
  readonly sender: RTCPeerConnection;
  readonly receiver: RTCPeerConnection;
  readonly element: HTMLAudioElement;
  stats(): Promise<LoopbackStats>;
  close(): void;
}

export interface LoopbackStats {
  outbound: { bytesSent: number; packetsSent: number };
  inbound: { bytesReceived: number; packetsReceived: number; totalAudioEnergy: number; totalSamplesReceived: number; concealedSamples: number };
}

/** Ask Opus for speech-friendly quality (the default is ~32 kb/s; the loopback never leaves the device). */
function richerOpus(sdp: string): string {
  return sdp.replace(/(a=fmtp:\d+ [^\r\n]*useinbandfec=1)/g, '$1;maxaveragebitrate=96000;stereo=0');
}

function waitConnected(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const s = pc.connectionState;
      if (s === 'connected') return done(), resolve();
      if (s === 'failed' || s === 'closed') return done(), reject(new Error(`loopback ${s}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('loopback connection timed out'));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('connectionstatechange', check);
    };
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}

export interface LoopbackOptions {
  /** How long the two peer connections may take to connect. */
  timeoutMs?: number;
  /** Aborting ends the set-up at whatever await it is in: both connections close and the promise rejects. */
  signal?: AbortSignal;
}

export async function makeLoopback(stream: MediaStream, { timeoutMs = 4000, signal }: LoopbackOptions = {}): Promise<Loopback> {
  signal?.throwIfAborted();
  const sender = new RTCPeerConnection();
  const receiver = new RTCPeerConnection();
  const element = new Audio();
  element.autoplay = true;
  const closeAll = () => {
    element.pause();
    element.srcObject = null;
    sender.close();
    receiver.close();
  };
  const connect = async () => {
    sender.onicecandidate = (e) => {
      if (e.candidate) receiver.addIceCandidate(e.candidate).catch(() => undefined);
    };
    receiver.onicecandidate = (e) => {
      if (e.candidate) sender.addIceCandidate(e.candidate).catch(() => undefined);
    };
    for (const track of stream.getAudioTracks()) sender.addTrack(track, stream);
    const remote = new Promise<MediaStream>((resolve) => {
      receiver.ontrack = (e) => resolve(e.streams[0] ?? new MediaStream([e.track]));
    });
    const offer = await sender.createOffer();
    await sender.setLocalDescription(offer);
    await receiver.setRemoteDescription({ type: 'offer', sdp: richerOpus(offer.sdp ?? '') });
    const answer = await receiver.createAnswer();
    await receiver.setLocalDescription(answer);
    await sender.setRemoteDescription({ type: 'answer', sdp: richerOpus(answer.sdp ?? '') });
    await waitConnected(sender, timeoutMs);
    element.srcObject = await remote;
    await element.play();
  };
  // None of the browser's awaits above takes a signal: an abort closes everything (which ends what can be ended,
  // e.g. pause() rejects a pending play()) and rejects at once, whatever the rest still does.
  let onAbort = () => undefined as void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const connecting = connect();
  connecting.catch(() => undefined);
  try {
    await Promise.race([connecting, aborted]);
  } catch (err) {
    closeAll();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return {
    sender,
    receiver,
    element,
    async stats() {
      const out = { bytesSent: 0, packetsSent: 0 };
      const inn = { bytesReceived: 0, packetsReceived: 0, totalAudioEnergy: 0, totalSamplesReceived: 0, concealedSamples: 0 };
      (await sender.getStats()).forEach((r: Record<string, unknown>) => {
        if (r.type === 'outbound-rtp' && r.kind === 'audio') {
          out.bytesSent += Number(r.bytesSent ?? 0);
          out.packetsSent += Number(r.packetsSent ?? 0);
        }
      });
      (await receiver.getStats()).forEach((r: Record<string, unknown>) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') {
          inn.bytesReceived += Number(r.bytesReceived ?? 0);
          inn.packetsReceived += Number(r.packetsReceived ?? 0);
          inn.totalAudioEnergy += Number(r.totalAudioEnergy ?? 0);
          inn.totalSamplesReceived += Number(r.totalSamplesReceived ?? 0);
          inn.concealedSamples += Number(r.concealedSamples ?? 0);
        }
      });
      return { outbound: out, inbound: inn };
    },
    close: closeAll,
  };
}

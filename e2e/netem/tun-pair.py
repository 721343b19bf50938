#!/usr/bin/env python3
# The only part of the link emulator Node cannot do itself: open two TUN devices (Node has no ioctl) and move
# raw IP packets between them and the emulator (e2e/netem/emulator.ts) over stdio. No scheduling happens here.
#
# Usage: tun-pair.py <browser-tun-name> <relay-tun-name>
# Both devices are created in the caller's network namespace; the emulator then moves each into its namespace
# (the open file descriptor stays attached to the device wherever it goes). They vanish when this process exits.
#
# stdout/stdin frames: u8 side (0 = browser TUN, 1 = relay TUN) | u16 big-endian length | IP packet.
#   stdout: a packet the kernel sent out of that TUN.   stdin: a packet to inject into that TUN.
# stderr: the line "ready" once both devices exist; errors as text.
import fcntl, os, select, struct, sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name: str) -> int:
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main() -> None:
    tuns = [open_tun(sys.argv[1]), open_tun(sys.argv[2])]
    sys.stderr.write('ready\n')
    sys.stderr.flush()
    out = sys.stdout.buffer
    pending = b''
    while True:
        readable, _, _ = select.select([0, *tuns], [], [])
        for fd in readable:
            if fd == 0:
                chunk = os.read(0, 1 << 16)
                if not chunk:  # the emulator went away: tear the devices down with us
                    return
                pending += chunk
                while len(pending) >= 3:
                    side, length = pending[0], struct.unpack('>H', pending[1:3])[0]
                    if len(pending) < 3 + length:
                        break
                    try:
                        os.write(tuns[side], pending[3:3 + length])
                    except OSError as err:  # e.g. the device is down during an address change: drop, go on
                        sys.stderr.write(f'write to tun {side} failed: {err}\n')
                    pending = pending[3 + length:]
            else:
                side = tuns.index(fd)
                try:
                    packet = os.read(fd, 1 << 16)
                except OSError:
                    continue
                out.write(bytes([side]) + struct.pack('>H', len(packet)) + packet)
                out.flush()


if __name__ == '__main__':
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass

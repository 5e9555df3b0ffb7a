#!/usr/bin/env python3
"""Clients that stop inside a frame, as a slowloris does.

Each of --connections sends the first --send-bytes of one Message-mode frame whose
log line is --frame-bytes long (asking for an ack), then sends nothing more, and
waits up to --timeout seconds for the server to close the connection. It prints
"SENT <connection> <bytes>" once its bytes are written (to the kernel: a server that
does not read may leave them in its socket buffers) and then "CLOSED <connection>
<seconds after its last byte>" when the server closed it, or "OPEN <connection>"
when the server had not closed it by --timeout.

With --whole a connection sends its frame whole and prints "ACK <connection>" when
the ack comes, then stays quiet, as the container that logs rarely does: it must
keep its connection, and prints "OPEN" at --timeout.
"""
import argparse
import socket
import threading
import time

import msgpack

from forward_protocol import Answers

print_lock = threading.Lock()


def say(line):
    with print_lock:
        print(line, flush=True)


def connection(index, args):
    chunk = f"stall-{index}"
    frame = msgpack.packb(["stall.test", int(time.time()), {"log": "s" * args.frame_bytes}, {"chunk": chunk}])
    send = len(frame) if args.whole else min(args.send_bytes, len(frame) - 1)
    conn = socket.create_connection(("127.0.0.1", args.port))
    deadline = time.monotonic() + args.timeout
    conn.settimeout(args.timeout)
    try:
        conn.sendall(frame[:send])
    except OSError as error:
        say(f"CLOSED {index} 0 ({error})")
        return
    last_byte = time.monotonic()
    say(f"SENT {index} {send}")
    answers = Answers(conn)
    try:
        while True:
            conn.settimeout(max(deadline - time.monotonic(), 0.01))
            message = answers.next()
            if message is None:
                break
            if isinstance(message, dict) and message.get("ack") == chunk:
                say(f"ACK {index}")
    except socket.timeout:
        say(f"OPEN {index}")
        conn.close()
        return
    except OSError:
        pass
    say(f"CLOSED {index} {time.monotonic() - last_byte:.2f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--frame-bytes", type=int, default=100_000)
    parser.add_argument("--send-bytes", type=int, default=50_000)
    parser.add_argument("--whole", action="store_true")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    threads = [threading.Thread(target=connection, args=(i, args)) for i in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()

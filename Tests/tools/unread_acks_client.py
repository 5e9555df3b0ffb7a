#!/usr/bin/env python3
"""A client that asks for acks and never reads them: it sends blocks of 1,000
acked Message-mode frames over a socket with a 4 KiB receive buffer, printing
"SENT <block>" after each, until the shipper closes the connection ("ENDED
<error>") or --blocks are sent; then it stays connected, silent, until killed.
"""
import argparse
import socket
import time

import msgpack


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--blocks", type=int, default=400)
    args = parser.parse_args()
    conn = socket.socket()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.connect(("127.0.0.1", args.port))
    now = int(time.time())
    try:
        for block in range(args.blocks):
            conn.sendall(b"".join(msgpack.packb(["app", now, {"log": "x"}, {"chunk": "c%d-%d" % (block, n)}]) for n in range(1000)))
            print("SENT", block, flush=True)
    except OSError as error:
        print("ENDED", error, flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()

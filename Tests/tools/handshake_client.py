#!/usr/bin/env python3
"""A forward client that authenticates as the Forward protocol specifies
(HELO, PING with SHA-512 digests, PONG), then sends one acked record.
Prints "PONG <ok> <reason>" and, if accepted, "ACK"; exits 0 when the server's
answer matched --expect (accept or reject) and its PONG digest checked out.
"""
import argparse
import hashlib
import socket
import sys
import time

import msgpack

from forward_protocol import Answers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--shared-key", required=True)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--expect", choices=["accept", "reject"], required=True)
    args = parser.parse_args()
    conn = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    receive = Answers(conn).next

    helo = receive()
    assert helo[0] == "HELO", helo
    nonce, auth = helo[1]["nonce"], helo[1]["auth"]
    hostname, salt = "client.example", b"client-salt"
    digest = hashlib.sha512(salt + hostname.encode() + nonce + args.shared_key.encode()).hexdigest()
    password = hashlib.sha512(auth + args.user.encode() + args.password.encode()).hexdigest() if args.user else ""
    conn.sendall(msgpack.packb(["PING", hostname, salt, digest, args.user, password], use_bin_type=True))
    pong = receive()
    print("PONG", pong[1], pong[2], flush=True)
    if not pong[1]:
        if pong[3:] != ["", ""]:
            print("a refused PONG must carry no hostname or digest: %r" % (pong,), flush=True)
            return 1
        closed = receive() is None
        return 0 if args.expect == "reject" and closed else 1
    expected = hashlib.sha512(salt + pong[3].encode() + nonce + args.shared_key.encode()).hexdigest()
    if pong[4] != expected:
        print("server digest mismatch", flush=True)
        return 1
    conn.sendall(msgpack.packb(["app", int(time.time()), {"log": "authenticated"}, {"chunk": "h1"}]))
    answer = receive()
    print("ACK" if answer == {"ack": "h1"} else "NO ACK %r" % (answer,), flush=True)
    return 0 if args.expect == "accept" and answer == {"ack": "h1"} else 1


if __name__ == "__main__":
    sys.exit(main())

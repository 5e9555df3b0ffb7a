#!/usr/bin/env python3
"""Sends Forward-mode frames whose records belong to many ECS tasks, so each frame's
records go to as many log streams, and waits for each frame's ack.

Every round is one frame with one Docker-shaped record per task (its `log` line
different each time). Prints "ACKED <round>" per acked frame; exits 1 at the
first frame that is not acked.
"""
import argparse
import socket
import sys
import time
import uuid

import msgpack

from docker_forward_client import record
from forward_protocol import Answers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--ack-timeout", type=float, default=10)
    args = parser.parse_args()
    conn = socket.create_connection(("127.0.0.1", args.port), timeout=args.ack_timeout)
    answers = Answers(conn)
    for n in range(args.rounds):
        now = int(time.time())
        entries = [[now, record(n * args.tasks + task, "%032x" % (0xcafe0000 + task), "sample-container")] for task in range(args.tasks)]
        chunk = uuid.uuid4().hex
        conn.sendall(msgpack.packb(["windows-app-task", entries, {"chunk": chunk}]))
        answer = answers.next()
        if answer != {"ack": chunk}:
            print("NO ACK round %d: %r" % (n, answer), flush=True)
            return 1
        print("ACKED %d" % n, flush=True)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Sends one long line the way Docker's fluentd driver does: cut into pieces of
16,384 bytes (a cut may fall inside a UTF-8 character), each a record with
partial_message, partial_id, partial_ordinal and partial_last, all with the first
piece's timestamp, one acked Message frame per piece.

--pieces 1,2 sends only those pieces (to test a restart in the middle of a line).
"""
import argparse
import socket
import sys
import time
import uuid

import msgpack

from forward_protocol import Answers

PIECE = 16384


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--line-file", required=True)
    parser.add_argument("--partial-id", default="6f4bd4a1c0ffee")
    parser.add_argument("--pieces", default=None)
    parser.add_argument("--time", type=int, default=None)
    args = parser.parse_args()
    line = open(args.line_file, "rb").read()
    pieces = [line[i:i + PIECE] for i in range(0, len(line), PIECE)]
    wanted = set(int(p) for p in args.pieces.split(",")) if args.pieces else set(range(1, len(pieces) + 1))
    when = args.time or int(time.time())
    conn = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    answers = Answers(conn)
    for ordinal, piece in enumerate(pieces, start=1):
        if ordinal not in wanted:
            continue
        chunk = uuid.uuid4().hex
        record = {"container_id": "61f5e6", "container_name": "/long", "source": "stdout", "log": piece,
                  "partial_message": "true", "partial_id": args.partial_id, "partial_ordinal": str(ordinal),
                  "partial_last": "true" if ordinal == len(pieces) else "false",
                  "com.amazonaws.ecs.cluster": "FluentBit-cluster", "com.amazonaws.ecs.container-name": "long",
                  "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:012345678901:task/FluentBit-cluster/abcdef01",
                  "com.amazonaws.ecs.task-definition-family": "windows-app-task", "com.amazonaws.ecs.task-definition-version": "1"}
        # Docker sends the piece as a msgpack str holding raw bytes.
        conn.sendall(msgpack.packb(["windows-app-task", when, record, {"chunk": chunk}], use_bin_type=False))
        answer = answers.next()
        if answer is None:
            print("closed before ack", file=sys.stderr)
            return 1
        assert answer == {"ack": chunk}, answer
        print("ACK %d" % ordinal, flush=True)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

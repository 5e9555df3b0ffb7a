#!/usr/bin/env python3
"""Sends Docker-shaped records to a forward input, as Docker's fluentd log driver does.

Message mode with the fluent-logger package (one record per frame), or, with
--ack, msgpack-built Message frames carrying option.chunk and waiting for each
{"ack": chunk} the way `fluentd-request-ack=true` does.

Prints one JSON line per record sent: {"seq": n, "acked": bool}.
"""
import argparse
import json
import socket
import sys
import time
import uuid

import msgpack
from fluent import sender

from forward_protocol import Answers

ECS_LABELS = {
    "com.amazonaws.ecs.cluster": "FluentBit-cluster",
    "com.amazonaws.ecs.container-name": "sample-container",
    "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:012345678901:task/FluentBit-cluster/{task}",
    "com.amazonaws.ecs.task-definition-family": "windows-app-task",
    "com.amazonaws.ecs.task-definition-version": "1",
}


def record(seq, task, container, poison=None, family="windows-app-task"):
    labels = {k: v.format(task=task) for k, v in ECS_LABELS.items()}
    labels["com.amazonaws.ecs.container-name"] = container
    labels["com.amazonaws.ecs.task-definition-family"] = family
    return {
        "container_id": "61f5e6" + "0" * 58,
        "container_name": "/ecs-windows-app-task-1-%s-c1" % container,
        "source": "stdout",
        "log": "line %d" % seq + (" POISON" if seq == poison else ""),
        **labels,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--task", default="13f4d9e1a2b34c5d")
    parser.add_argument("--container", default="sample-container")
    parser.add_argument("--family", default="windows-app-task", help="task definition family: the tutorial names the log group after it")
    parser.add_argument("--tag", default="windows-app-task")
    parser.add_argument("--time", type=int, default=None, help="fixed event time (seconds)")
    parser.add_argument("--ack", action="store_true")
    parser.add_argument("--poison", type=int, default=None, help="mark this record's log with POISON")
    parser.add_argument("--ack-timeout", type=float, default=10, help="seconds to wait for each ack before failing")
    args = parser.parse_args()

    if not args.ack:
        client = sender.FluentSender(args.tag, host=args.host, port=args.port)
        for seq in range(args.start, args.start + args.count):
            when = args.time if args.time is not None else int(time.time())
            ok = client.emit_with_time(None, when, record(seq, args.task, args.container, args.poison, args.family))
            if not ok:
                print("send failed: %s" % client.last_error, file=sys.stderr)
                return 1
            print(json.dumps({"seq": seq, "acked": False}), flush=True)
        client.close()
        return 0

    conn = socket.create_connection((args.host, args.port), timeout=args.ack_timeout)
    answers = Answers(conn)
    for seq in range(args.start, args.start + args.count):
        when = args.time if args.time is not None else int(time.time())
        chunk = uuid.uuid4().hex
        conn.sendall(msgpack.packb([args.tag, when, record(seq, args.task, args.container, args.poison, args.family), {"chunk": chunk}]))
        answer = answers.next()
        if answer is None:
            print("connection closed before ack", file=sys.stderr)
            return 1
        if answer != {"ack": chunk}:
            print("unexpected answer %r" % (answer,), file=sys.stderr)
            return 1
        print(json.dumps({"seq": seq, "acked": True}), flush=True)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

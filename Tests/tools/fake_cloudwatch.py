#!/usr/bin/env python3
"""A CloudWatch Logs endpoint for tests: enforces PutLogEvents' rules and injects faults.

It speaks the JSON 1.1 protocol for CreateLogGroup, CreateLogStream, PutLogEvents,
PutRetentionPolicy and DescribeLogStreams, and refuses what the real service refuses:
missing groups and streams, more than 10,000 events, more than 1,048,576 bytes
(UTF-8 message bytes + 26 per event), events out of chronological order, a batch
spanning more than 24 hours, empty or over-size messages.

--fault KIND:PROBABILITY (repeatable) makes a PutLogEvents call fail that way:
  throttle    400 ThrottlingException
  error500    500 InternalFailure
  error503    503 ServiceUnavailableException
  reset       the connection is closed without an answer (nothing stored)
  slow        the answer comes 2 s late (stored normally)
  stall       half the body is read, then nothing more is read or answered for 30 s (nothing stored)
  accepted500 the events are stored, then 500 InternalFailure is answered
--require-sequence-tokens makes it behave like the pre-2023 service.
--reject-message TEXT answers InvalidParameterException to a batch holding a message with TEXT.
--stall-stream TEXT stalls every PutLogEvents to a stream whose name holds TEXT (its body read
whole, then nothing answered for 30 s), whatever the faults drawn for the others.

PUT /_outage/on makes every call answer 503 ServiceUnavailableException (counted as the
fault "outage") until PUT /_outage/off.
--tls-cert/--tls-key serve HTTPS with that certificate.
It also serves credentials the way ECS (GET /creds, checked against --creds-token) and
IMDSv2 (/latest/...) do, and records which access key signed each call.
PUT /_throttle/on makes every PutLogEvents answer ThrottlingException (counted as the fault
"throttle") until PUT /_throttle/off.
Every PutLogEvents call is logged in "puts" (arrival time, stream, fault, its oldest event's timestamp, its events),
and every request whose client stopped sending mid-body in "truncated_bodies".
GET /_state returns everything as JSON. Prints "LISTENING <port>" once ready.
"""
import argparse
import json
import ssl
import random
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {"groups": {}, "events": [], "faults": {}, "accepted500_events": 0, "access_keys": [], "calls": {}, "retention": {}, "errors": {},
         "group_options": {}, "max_concurrent_puts": 0, "puts": [], "truncated_bodies": []}
in_flight = [0]
args = None


def error(kind, message, status=400, extra=None):
    body = {"__type": "com.amazonaws.logs#" + kind, "message": message}
    body.update(extra or {})
    return status, body


def put_log_events(request):
    group = state["groups"].get(request.get("logGroupName"))
    if group is None:
        return error("ResourceNotFoundException", "The specified log group does not exist.")
    stream = group.get(request.get("logStreamName"))
    if stream is None:
        return error("ResourceNotFoundException", "The specified log stream does not exist.")
    events = request.get("logEvents") or []
    if not events or len(events) > 10000:
        return error("InvalidParameterException", "1 to 10,000 events per batch, got %d" % len(events))
    size = sum(len(e["message"].encode("utf-8")) + 26 for e in events)
    if size > 1048576:
        return error("InvalidParameterException", "batch of %d bytes exceeds 1048576" % size)
    for previous, event in zip(events, events[1:]):
        if event["timestamp"] < previous["timestamp"]:
            return error("InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
    if events[-1]["timestamp"] - events[0]["timestamp"] > 24 * 3600 * 1000:
        return error("InvalidParameterException", "A batch of log events in a single request cannot span more than 24 hours.")
    for event in events:
        if not event["message"] or len(event["message"].encode("utf-8")) > 1048550:
            return error("InvalidParameterException", "Log event message length must be 1 to 1048550 bytes")
        if args.reject_message and args.reject_message in event["message"]:
            return error("InvalidParameterException", "rejected message: %s" % args.reject_message)
    if args.require_sequence_tokens:
        expected = str(stream["token"])
        given = request.get("sequenceToken")
        if stream["events"] and given != expected:
            return error("InvalidSequenceTokenException",
                         "The given sequenceToken is invalid. The next expected sequenceToken is: " + expected,
                         extra={"expectedSequenceToken": expected})
        if not stream["events"] and given not in (None, expected):
            return error("InvalidSequenceTokenException",
                         "The given sequenceToken is invalid. The next expected sequenceToken is: null")
    for event in events:
        stored = {"group": request["logGroupName"], "stream": request["logStreamName"],
                  "timestamp": event["timestamp"], "message": event["message"]}
        stream["events"].append(stored)
        state["events"].append(stored)
    stream["token"] += 1
    return 200, {"nextSequenceToken": str(stream["token"])}


def handle(operation, request):
    groups = state["groups"]
    if operation == "CreateLogGroup":
        if request["logGroupName"] in groups:
            return error("ResourceAlreadyExistsException", "The specified log group already exists")
        groups[request["logGroupName"]] = {}
        state["group_options"][request["logGroupName"]] = {"tags": request.get("tags", {}), "class": request.get("logGroupClass", "STANDARD")}
        return 200, {}
    if operation == "CreateLogStream":
        group = groups.get(request["logGroupName"])
        if group is None:
            return error("ResourceNotFoundException", "The specified log group does not exist.")
        if request["logStreamName"] in group:
            return error("ResourceAlreadyExistsException", "The specified log stream already exists")
        group[request["logStreamName"]] = {"events": [], "token": 1}
        return 200, {}
    if operation == "PutRetentionPolicy":
        state["retention"][request["logGroupName"]] = request["retentionInDays"]
        return 200, {}
    if operation == "DescribeLogStreams":
        group = groups.get(request["logGroupName"], {})
        return 200, {"logStreams": [{"logStreamName": name, "uploadSequenceToken": str(s["token"])} for name, s in group.items()]}
    if operation == "PutLogEvents":
        return put_log_events(request)
    return error("UnknownOperationException", operation)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, content_type="application/x-amz-json-1.1"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def credentials(self):
        return {"AccessKeyId": args.creds_key, "SecretAccessKey": "fake-secret", "Token": "fake-token",
                "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}

    def do_PUT(self):
        if self.path == "/latest/api/token":
            self.reply(200, b"imds-token", "text/plain")
        elif self.path in ("/_outage/on", "/_outage/off"):
            with lock:
                state["outage"] = self.path.endswith("/on")
            self.reply(200, b"", "text/plain")
        elif self.path in ("/_throttle/on", "/_throttle/off"):
            with lock:
                state["throttling"] = self.path.endswith("/on")
            self.reply(200, b"", "text/plain")
        else:
            self.reply(404, b"", "text/plain")

    def do_GET(self):
        if self.path == "/_state":
            with lock:
                self.reply(200, state, "application/json")
        elif self.path == "/creds":
            if self.headers.get("Authorization") != args.creds_token:
                self.reply(401, b"bad token", "text/plain")
            else:
                self.reply(200, self.credentials(), "application/json")
        elif self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != "imds-token":
                self.reply(401, b"", "text/plain")
            elif self.path.endswith("/"):
                self.reply(200, b"instance-role", "text/plain")
            else:
                self.reply(200, self.credentials(), "application/json")
        else:
            self.reply(404, b"", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        operation = self.headers.get("X-Amz-Target", "").split(".")[-1]
        fault = None
        if state.get("outage"):
            fault = "outage"
        elif operation == "PutLogEvents" and state.get("throttling"):
            fault = "throttle"
        elif operation == "PutLogEvents":
            with lock:
                for kind, probability in args.fault:
                    if random.random() < probability:
                        fault = kind
                        break
        if fault == "stall":
            self.stall(self.rfile.read(length // 2))
            return
        started = time.time()
        body = self.rfile.read(length)
        if len(body) < length:
            # The client stopped sending mid-body and closed: nothing to answer.
            with lock:
                state["truncated_bodies"].append({"t": started, "operation": operation, "received": len(body), "length": length})
            self.close_connection = True
            return
        authorization = self.headers.get("Authorization", "")
        if "Credential=" not in authorization:
            self.reply(*error("MissingAuthenticationTokenException", "Missing Authentication Token", 403))
            return
        access_key = authorization.split("Credential=")[1].split("/")[0]
        request = json.loads(body)
        if operation == "PutLogEvents" and args.stall_stream and args.stall_stream in request.get("logStreamName", ""):
            self.stall(body)
            return
        if operation == "PutLogEvents":
            with lock:
                stamps = [event.get("timestamp", 0) for event in request.get("logEvents", [])]
                state["puts"].append({"t": time.time(), "stream": request.get("logStreamName"), "fault": fault,
                                      "oldest": min(stamps) if stamps else None, "events": len(stamps)})
        with lock:
            if access_key not in state["access_keys"]:
                state["access_keys"].append(access_key)
            state["calls"][operation] = state["calls"].get(operation, 0) + 1
            if fault:
                state["faults"][fault] = state["faults"].get(fault, 0) + 1
            if fault == "reset":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault in ("throttle", "error500", "error503", "outage"):
                status, answer = {"throttle": error("ThrottlingException", "Rate exceeded"),
                                  "error500": error("InternalFailure", "internal failure", 500),
                                  "error503": error("ServiceUnavailableException", "unavailable", 503),
                                  "outage": error("ServiceUnavailableException", "outage", 503)}[fault]
            else:
                before = len(state["events"])
                status, answer = handle(operation, request)
                if fault == "accepted500" and status == 200:
                    state["accepted500_events"] += len(state["events"]) - before
                    status, answer = error("InternalFailure", "stored, but answered 500", 500)
            if status != 200:
                kind = answer.get("__type", "").split("#")[-1]
                state["errors"][kind] = state["errors"].get(kind, 0) + 1
        if fault == "slow":
            with lock:
                in_flight[0] += 1
                state["max_concurrent_puts"] = max(state["max_concurrent_puts"], in_flight[0])
            time.sleep(2)
            with lock:
                in_flight[0] -= 1
        self.reply(status, answer)

    def stall(self, head):
        """Holds the connection after `head` (half the body, or all of it): a call that never hears back."""
        match = re.search(rb'"logStreamName":"([^"]*)"', head)
        with lock:
            state["faults"]["stall"] = state["faults"].get("stall", 0) + 1
            state["puts"].append({"t": time.time(), "stream": match.group(1).decode() if match else None, "fault": "stall"})
        time.sleep(30)
        self.close_connection = True


def main():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fault", action="append", default=[],
                        type=lambda text: (text.split(":")[0], float(text.split(":")[1])))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--require-sequence-tokens", action="store_true")
    parser.add_argument("--reject-message", default=None)
    parser.add_argument("--stall-stream", default=None, help="every PutLogEvents to a stream whose name holds this text stalls")
    parser.add_argument("--creds-token", default="secret-token")
    parser.add_argument("--creds-key", default="AKIDFROMENDPOINT")
    parser.add_argument("--tls-cert", default=None, help="serve HTTPS with this PEM certificate")
    parser.add_argument("--tls-key", default=None)
    args = parser.parse_args()
    random.seed(args.seed)
    # socketserver's listen backlog is 5: a client opening a connection per call would lose
    # SYNs in bursts and wait for their retransmission, which is no fault of its own.
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("LISTENING %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

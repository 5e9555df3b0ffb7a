#!/usr/bin/env python3
"""Prints every event of a CloudWatch Logs endpoint as JSON lines, read with boto3.

{"group": ..., "stream": ..., "timestamp": ms, "message": ...}
"""
import argparse
import json
import sys

import boto3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    client = boto3.client("logs", region_name=args.region, endpoint_url=args.endpoint,
                          aws_access_key_id="test", aws_secret_access_key="test")
    for page in client.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            name = group["logGroupName"]
            for streams in client.get_paginator("describe_log_streams").paginate(logGroupName=name):
                for stream in streams["logStreams"]:
                    token = None
                    while True:
                        kwargs = {"logGroupName": name, "logStreamName": stream["logStreamName"], "startFromHead": True}
                        if token:
                            kwargs["nextToken"] = token
                        answer = client.get_log_events(**kwargs)
                        for event in answer["events"]:
                            print(json.dumps({"group": name, "stream": stream["logStreamName"],
                                              "timestamp": event["timestamp"], "message": event["message"]}))
                        if not answer["events"] or answer.get("nextForwardToken") == token:
                            break
                        token = answer.get("nextForwardToken")
    return 0


if __name__ == "__main__":
    sys.exit(main())

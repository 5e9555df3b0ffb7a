#!/usr/bin/env python3
"""Prints the `log` field of every record in a shipper spool, one per line (read-only)."""
import json
import sqlite3
import sys

db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for (message,) in db.execute("SELECT message FROM records ORDER BY id"):
    print(json.loads(message)["log"])

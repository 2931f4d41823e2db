"""libpq itself as the reference: reads connection strings (JSON lines) on stdin and prints, for
each, what libpq's own code makes of it (JSON lines) on stdout.

- "parse": PQconninfoParse, through psycopg.conninfo.conninfo_to_dict.
- "resolve": PQconnectStart, then PQconninfo: the values libpq resolved from the string, the
  environment, the service file and its defaults; or the first error libpq reports before it has
  to reach a server. Errors that only a network attempt produces (a refused connection, a name
  that does not resolve) do not count as refusals of the string.

Run it in the same controlled environment as the program under test.
"""

import json
import re
import sys

from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

# Prefixes libpq puts before errors once it is connecting to a given address.
HOST_PREFIX = re.compile(
    r'^connection to server (at "[^"]*"( \([^)]*\))?, port \d+|on socket "[^"]*") failed: ?'
)
# What a connection attempt reports when no server is there: not a verdict on the string.
NETWORK_ERRORS = (
    "No such file or directory",
    "Connection refused",
    "Network is unreachable",
    "Cannot assign requested address",
    "Connection timed out",
    "timeout expired",
    "could not translate host name",
    "Is the server running",
    "GSSAPI encryption required but it is not supported over a local socket",
    "server closed the connection unexpectedly",
)


def parse(conninfo):
    try:
        return {"ok": conninfo_to_dict(conninfo)}
    except Exception as e:  # psycopg.ProgrammingError carries libpq's message
        return {"error": str(e).strip()}


def first_refusal(message):
    for line in message.splitlines():
        line = HOST_PREFIX.sub("", line).strip()
        if line and not any(n in line for n in NETWORK_ERRORS):
            return line
    return None


def resolve(conninfo):
    conn = pq.PGconn.connect_start(conninfo.encode())
    try:
        info = {
            o.keyword.decode(): o.val.decode(errors="replace")
            for o in conn.info
            if o.val is not None
        }
        refusal = first_refusal(conn.error_message.decode(errors="replace"))
    finally:
        conn.finish()
    if refusal is None and "connect_timeout" in info:
        # libpq reads connect_timeout only in PQconnectdb's wait loop, so ask that too. A valid
        # timeout bounds the attempt; an invalid one fails before any wait.
        conn = pq.PGconn.connect(conninfo.encode())
        try:
            refusal = first_refusal(conn.error_message.decode(errors="replace"))
        finally:
            conn.finish()
    if refusal is not None:
        return {"error": refusal}
    return {"ok": info}


def main():
    print(json.dumps({"libpq_version": pq.version()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        conninfo = json.loads(line)
        result = {"conninfo": conninfo, "parse": parse(conninfo)}
        result["resolve"] = resolve(conninfo) if "\0" not in conninfo else result["parse"]
        print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

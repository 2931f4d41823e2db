"""libpq as the reference for verdicts: reads connection strings (JSON lines) on stdin, connects
with PQconnectdb for each, and prints (JSON lines) whether libpq connected, whether the connection
is encrypted (PQsslInUse), the protocol version (PQfullProtocolVersion), and libpq's error
message otherwise.

Run it in the same controlled environment as the program under test.
"""

import json
import sys

from psycopg import pq


def main():
    print(json.dumps({"libpq_version": pq.version()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        conninfo = json.loads(line)
        conn = pq.PGconn.connect(conninfo.encode())
        try:
            if conn.status == pq.ConnStatus.OK:
                result = {"ok": True, "ssl": bool(conn.ssl_in_use), "error": None,
                          "protocol": conn.full_protocol_version}
            else:
                message = conn.error_message.decode(errors="replace").strip()
                result = {"ok": False, "ssl": None, "error": message}
        finally:
            conn.finish()
        result["conninfo"] = conninfo
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

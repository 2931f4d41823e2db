"""A relay that reads the cleartext part of each TLS handshake that passes through it: what the
client offers (supported groups, key shares, in order) and what the server answers (a
HelloRetryRequest, the group chosen, the protocol version). It is how the tests see which key
exchange group libpq, a driver or pgtls really negotiated with a real server: libpq and most
drivers do not say.

Usage: tls_tap.py TARGET_PORT. It listens on a free port of 127.0.0.1, prints {"port": N}, then,
for each connection once it closes, one JSON line:
  {"offered": [names], "shares": [names], "retry_shares": [names] or null,
   "hello_retry": bool, "group": name or null, "version": "TLSv1.3" or "TLSv1.2" or null}
It stops when its standard input closes.
"""

import json
import socket
import struct
import sys
import threading

NAMES = {
    0x0017: "P-256", 0x0018: "P-384", 0x0019: "P-521", 0x001D: "X25519", 0x001E: "X448",
    0x0100: "ffdhe2048", 0x0101: "ffdhe3072", 0x0102: "ffdhe4096", 0x0103: "ffdhe6144",
    0x0104: "ffdhe8192", 0x0200: "MLKEM512", 0x0201: "MLKEM768", 0x0202: "MLKEM1024",
    0x11EB: "SecP256r1MLKEM768", 0x11EC: "X25519MLKEM768", 0x11ED: "SecP384r1MLKEM1024",
}
HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
NEGOTIATION_CODES = (80877103, 80877104)  # SSLRequest, GSSENCRequest
LOCK = threading.Lock()


def name(code):
    return NAMES.get(code, f"0x{code:04x}")


def extensions(body, offset):
    """Yields (type, data) for the extensions that start at offset."""
    if offset + 2 > len(body):
        return
    (total,) = struct.unpack_from("!H", body, offset)
    offset += 2
    end = min(offset + total, len(body))
    while offset + 4 <= end:
        kind, size = struct.unpack_from("!HH", body, offset)
        yield kind, body[offset + 4: offset + 4 + size]
        offset += 4 + size


def client_hello(body, seen):
    offset = 2 + 32
    offset += 1 + body[offset]
    (suites,) = struct.unpack_from("!H", body, offset)
    offset += 2 + suites
    offset += 1 + body[offset]
    shares = []
    for kind, data in extensions(body, offset):
        if kind == 0x000A and "offered" not in seen:
            seen["offered"] = [name(c) for c in struct.unpack_from(f"!{(len(data) - 2) // 2}H", data, 2)]
        elif kind == 0x0033:
            at = 2
            while at + 4 <= len(data):
                group, size = struct.unpack_from("!HH", data, at)
                shares.append(name(group))
                at += 4 + size
    seen["retry_shares" if "shares" in seen else "shares"] = shares


def server_hello(body, seen):
    (version,) = struct.unpack_from("!H", body, 0)
    retry = body[2:34] == HRR_RANDOM
    offset = 34
    offset += 1 + body[offset]
    offset += 3
    group = None
    for kind, data in extensions(body, offset):
        if kind == 0x002B and len(data) >= 2:
            (version,) = struct.unpack_from("!H", data, 0)
        elif kind == 0x0033 and len(data) >= 2:
            (group,) = struct.unpack_from("!H", data, 0)
    if retry:
        seen["hello_retry"] = True
    else:
        seen["version"] = {0x0304: "TLSv1.3", 0x0303: "TLSv1.2"}.get(version, f"0x{version:04x}")
        if group is not None:
            seen["group"] = name(group)


def server_key_exchange(body, seen):
    if seen.get("version") == "TLSv1.2" and len(body) >= 3 and body[0] == 3:
        seen["group"] = name(struct.unpack_from("!H", body, 1)[0])


class Reader:
    """Reads the handshake messages of one direction, after the PostgreSQL negotiation bytes."""

    def __init__(self, from_client, seen):
        self.from_client = from_client
        self.seen = seen
        self.buffer = b""
        self.handshake = b""
        self.done = False

    def feed(self, data):
        if self.done:
            return
        self.buffer += data
        try:
            self.parse()
        except (struct.error, IndexError):
            self.done = True

    def parse(self):
        while not self.done:
            if self.from_client and len(self.buffer) >= 8 and self.buffer[0] != 0x16:
                length, code = struct.unpack_from("!II", self.buffer, 0)
                if length == 8 and code in NEGOTIATION_CODES:
                    self.buffer = self.buffer[8:]
                    continue
                self.done = True
                return
            if not self.from_client and self.buffer[:1] in (b"S", b"N"):
                self.buffer = self.buffer[1:]
                continue
            if len(self.buffer) < 5:
                return
            kind, _, size = struct.unpack_from("!BHH", self.buffer, 0)
            if len(self.buffer) < 5 + size:
                return
            record, self.buffer = self.buffer[5:5 + size], self.buffer[5 + size:]
            if kind == 0x14:
                continue
            if kind != 0x16:
                self.done = True
                return
            self.handshake += record
            self.messages()

    def messages(self):
        while len(self.handshake) >= 4:
            kind = self.handshake[0]
            size = int.from_bytes(self.handshake[1:4], "big")
            if len(self.handshake) < 4 + size:
                return
            body, self.handshake = self.handshake[4:4 + size], self.handshake[4 + size:]
            if kind == 1:
                client_hello(body, self.seen)
            elif kind == 2:
                server_hello(body, self.seen)
            elif kind == 12:
                server_key_exchange(body, self.seen)
            if kind in (12, 14) or (kind == 2 and self.seen.get("version") == "TLSv1.3"):
                self.done = True
                return


def pump(source, sink, reader):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            reader.feed(data)
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (sink, source):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def relay(client, target_port):
    seen = {}
    try:
        server = socket.create_connection(("127.0.0.1", target_port), timeout=10)
        server.settimeout(None)
    except OSError:
        client.close()
        return
    up = threading.Thread(target=pump, args=(client, server, Reader(True, seen)))
    down = threading.Thread(target=pump, args=(server, client, Reader(False, seen)))
    up.start()
    down.start()
    up.join()
    down.join()
    client.close()
    server.close()
    line = {
        "offered": seen.get("offered"),
        "shares": seen.get("shares"),
        "retry_shares": seen.get("retry_shares"),
        "hello_retry": seen.get("hello_retry", False),
        "group": seen.get("group"),
        "version": seen.get("version"),
    }
    with LOCK:
        print(json.dumps(line), flush=True)


def main():
    target_port = int(sys.argv[1])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(json.dumps({"port": listener.getsockname()[1]}), flush=True)

    def serve():
        while True:
            client, _ = listener.accept()
            threading.Thread(target=relay, args=(client, target_port), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    sys.stdin.read()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A tiny xenstored for running xl without Xen: read, directory, write,
transactions; the store is a dict.  Usage: fake_xenstored.py SOCKET"""
import os, socket, struct, sys, threading

XS_DIRECTORY, XS_READ, XS_GET_PERMS, XS_WATCH, XS_UNWATCH = 1, 2, 3, 4, 5
XS_TRANSACTION_START, XS_TRANSACTION_END = 6, 7
XS_GET_DOMAIN_PATH, XS_WRITE, XS_MKDIR, XS_RM, XS_ERROR = 10, 11, 12, 13, 16

store = {
    "/local/domain/0/name": "Domain-0",
    "/local/domain/1/name": "g1",
    "/local/domain/2/name": "g2",
    "/local/domain/3/name": "crguest",
    "/local/pool/0/name": "Pool-0",
    "/local/pool/1/name": "crp",
}

def children(path):
    pre = path.rstrip("/") + "/"
    out = []
    for k in store:
        if k.startswith(pre):
            c = k[len(pre):].split("/")[0]
            if c not in out:
                out.append(c)
    return out

def handle(conn):
    buf = b""
    while True:
        while len(buf) < 16:
            d = conn.recv(4096)
            if not d:
                return
            buf += d
        typ, rid, tx, ln = struct.unpack("<IIII", buf[:16])
        while len(buf) < 16 + ln:
            buf += conn.recv(4096)
        body, buf = buf[16:16 + ln], buf[16 + ln:]
        args = body.split(b"\0")
        path = args[0].decode(errors="replace") if args else ""
        rtyp, out = typ, b"OK\0"
        if typ == XS_READ:
            if path in store:
                out = store[path].encode()
            elif children(path):
                out = b""
            else:
                rtyp, out = XS_ERROR, b"ENOENT\0"
        elif typ == XS_DIRECTORY:
            c = children(path)
            if c or path in store:
                out = b"".join(x.encode() + b"\0" for x in c)
            else:
                rtyp, out = XS_ERROR, b"ENOENT\0"
        elif typ == XS_WRITE:
            store[path] = args[1].decode(errors="replace") if len(args) > 1 else ""
        elif typ == XS_RM:
            for k in [k for k in store if k == path or k.startswith(path + "/")]:
                del store[k]
        elif typ == XS_TRANSACTION_START:
            out = b"1\0"
        elif typ == XS_GET_DOMAIN_PATH:
            out = b"/local/domain/" + args[0] + b"\0"
        elif typ == XS_GET_PERMS:
            out = b"n0\0"
        conn.sendall(struct.pack("<IIII", rtyp, rid, tx, len(out)) + out)

def main():
    path = sys.argv[1]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()

main()

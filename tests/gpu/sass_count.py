#!/usr/bin/env python3
"""Counts sm_90 SASS instructions per kernel in a cubin (nvcc -cubin -arch=sm_90), for machines
without cuobjdump: each instruction is 16 bytes of .text.<kernel>, and the low 12 bits name the
opcode and operand form. The names below were matched against cuobjdump's counts for the same
kernel on an H200 (LOP3 2768 = 0x212 + 0xc12, SHF 1305, total 4168); unnamed forms print in hex.
NOP padding is left out of the total.
    python3 tests/gpu/sass_count.py FILE.cubin"""
import struct, sys, collections
NAMES = {0x212: "LOP3", 0x812: "LOP3", 0xc12: "LOP3", 0xc0c: "ISETP", 0xab9: "ULDC", 0x219: "SHF", 0x819: "SHF", 0x224: "IMAD", 0x824: "IMAD",
         0x225: "IMAD.WIDE", 0x825: "IMAD.WIDE", 0x210: "IADD3", 0x810: "IADD3", 0x20c: "ISETP",
         0x80c: "ISETP", 0x216: "PRMT", 0x816: "PRMT", 0x947: "BRA", 0x94d: "EXIT", 0x918: "NOP",
         0xb82: "LDC", 0x202: "MOV", 0x802: "MOV", 0x424: "IMAD", 0x624: "IMAD", 0x225: "IMAD.WIDE"}
def main(path):
    d = open(path, "rb").read()
    shoff, = struct.unpack_from("<Q", d, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
    stro = secs[shstrndx][4]
    for s in secs:
        name = d[stro + s[0]: d.index(b"\0", stro + s[0])].decode()
        if not name.startswith(".text."):
            continue
        off, size = s[4], s[5]
        h = collections.Counter()
        for i in range(off, off + size, 16):
            lo, = struct.unpack_from("<Q", d, i)
            h[lo & 0xfff] += 1
        # trailing BRA-to-self + NOP padding is not code
        named = collections.Counter()
        for k, v in h.items():
            named[NAMES.get(k, hex(k))] += v
        pad = named.get("NOP", 0)
        print(f"{name[6:]:60s} total {size // 16 - pad:5d}  " +
              "  ".join(f"{k} {v}" for k, v in sorted(named.items(), key=lambda kv: -kv[1])))
for p in sys.argv[1:]:
    main(p)

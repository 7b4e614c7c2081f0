#!/usr/bin/env python3
"""Writes Rdata.rdx / Rdata.rdb: a tiny lazy-load database in the layout of r-cran-modeldata 1.1.0's data folder.

training_data (12 rows) and testing_data (6 rows) are tibbles of product, review (UTF-8 strings) and score (a factor
with levels great, other), their rows taken from the example's shipped sample (itself converted from the real package).
The bytes follow what R 4.2 wrote in the real Rdata.rdb (serialization version 3, XDR): the same flags, attribute
order (levels/class on the factor; class, row.names = c(NA, -n), names on the tibble) and symbol references. The
.rdx is gzip'd like R's saveRDS; each record is a big-endian length, the method byte 'Z' and a raw LZMA2 stream
(liblzma, preset 6), as R's lazy-load compression 3 (xz) writes it.

    python3 make_fixture.py ../../../examples/BertClassifier/sample
"""
import gzip, lzma, struct, sys

def i32(v): return struct.pack('>i', v)

class Writer:
    def __init__(self):
        self.out = bytearray(); self.symbols = []
    def int(self, v): self.out += i32(v)
    def chars(self, s):
        b = s.encode('utf-8')
        ascii_only = all(c < 128 for c in b)
        self.int(0x00040009 if ascii_only else 0x00008009); self.int(len(b)); self.out += b
    def symbol(self, name):
        if name in self.symbols:
            self.int(((self.symbols.index(name) + 1) << 8) | 0xFF)
        else:
            self.symbols.append(name); self.int(1); self.chars(name)
    def strings(self, values, flags=0x10):
        self.int(flags); self.int(len(values))
        for v in values: self.chars(v)
    def attributes(self, pairs):
        for tag, write in pairs:
            self.int(0x402); self.symbol(tag); write()
        self.int(0xFE)

def tibble(rows):
    w = Writer()
    w.out += b'X\n'; w.int(3); w.int(0x040202); w.int(0x030500); w.int(5); w.out += b'UTF-8'
    w.int(0x313); w.int(3)                                   # VECSXP, object, attributes; 3 columns
    w.strings([p for p, _, _ in rows])                       # product
    w.strings([r for _, r, _ in rows])                       # review
    w.int(0x30D); w.int(len(rows))                           # INTSXP factor: codes from 1
    for _, _, s in rows: w.int(1 if s == 'great' else 2)
    w.attributes([('levels', lambda: w.strings(['great', 'other'])), ('class', lambda: w.strings(['factor']))])
    w.attributes([('class', lambda: w.strings(['tbl_df', 'tbl', 'data.frame'])),
                  ('row.names', lambda: (w.int(0x0D), w.int(2), w.int(-2**31), w.int(-len(rows)))),
                  ('names', lambda: w.strings(['product', 'review', 'score']))])
    return bytes(w.out)

def record(serialized):
    packed = lzma.compress(serialized, format=lzma.FORMAT_RAW, filters=[{'id': lzma.FILTER_LZMA2, 'preset': 6}])
    return i32(len(serialized)) + b'Z' + packed

def read_tsv(path, n):
    rows = []
    for line in open(path, encoding='utf-8'):
        label, text = line.rstrip('\n').split('\t', 1)
        rows.append((f'B{len(rows):09d}', text, label))
        if len(rows) == n: break
    return rows

sample = sys.argv[1]
objects = [('testing_data', tibble(read_tsv(f'{sample}/reviews_test.tsv', 6))),
           ('training_data', tibble(read_tsv(f'{sample}/reviews_train.tsv', 12)))]
rdb = bytearray(); index = []
for name, data in objects:
    r = record(data); index.append((name, len(rdb), len(r))); rdb += r
open('Rdata.rdb', 'wb').write(rdb)

w = Writer()
w.out += b'X\n'; w.int(3); w.int(0x040202); w.int(0x030500); w.int(5); w.out += b'UTF-8'
w.int(0x213); w.int(3)                                       # list(variables, references, compressed)
w.int(0x213); w.int(len(index))
for _, offset, length in index: w.int(0x0D); w.int(2); w.int(offset); w.int(length)
w.attributes([('names', lambda: w.strings([n for n, _, _ in index]))])
w.int(0x213); w.int(0); w.attributes([('names', lambda: w.strings([]))])
w.int(0x0D); w.int(1); w.int(3)
w.attributes([('names', lambda: w.strings(['variables', 'references', 'compressed']))])
open('Rdata.rdx', 'wb').write(gzip.compress(bytes(w.out), mtime=0))
print(f'wrote Rdata.rdb ({len(rdb)} bytes) and Rdata.rdx')

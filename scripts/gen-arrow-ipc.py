#!/usr/bin/env python3
"""Generate the Arrow IPC fixtures of test/formats/arrow.test.ts.

Writes test/fixtures/arrow/batches.arrow (IPC file format: "ARROW1", schema,
dictionary batch, record batches, footer) and batches.arrows (the same
messages in the IPC stream format, ending with the end-of-stream marker):
4 record batches of 1,000, 1,000, 500 and 2,500 rows of
  id    int64
  temp  float32
  city  dictionary<int32, string> (one dictionary batch, 12 values)
  note  string  (2-4 random words)
Deterministic (seeded). Made with pyarrow 25.0.1 (see scripts/gen-parquet-cdc.py
for the venv):  /tmp/pqvenv/bin/python scripts/gen-arrow-ipc.py
"""
import os
import random
import sys

import pyarrow as pa
import pyarrow.ipc as ipc

CITIES = ["Oslo", "Lima", "Pune", "Kobe", "Nice", "Graz", "Cork", "Bern", "Riga", "Baku", "Doha", "Suva"]
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()


def batch(rng, first, n, schema):
    city = pa.DictionaryArray.from_arrays(pa.array([rng.randrange(len(CITIES)) for _ in range(n)], pa.int32()),
                                          pa.array(CITIES))
    return pa.record_batch([
        pa.array(range(first, first + n), pa.int64()),
        pa.array([rng.uniform(-20, 40) for _ in range(n)], pa.float32()),
        city,
        pa.array([" ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 5))) for _ in range(n)]),
    ], schema=schema)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "arrow")
    os.makedirs(out, exist_ok=True)
    schema = pa.schema([("id", pa.int64()), ("temp", pa.float32()),
                        ("city", pa.dictionary(pa.int32(), pa.string())), ("note", pa.string())])
    rng = random.Random(11)
    batches, first = [], 0
    for n in (1000, 1000, 500, 2500):
        batches.append(batch(rng, first, n, schema))
        first += n
    with ipc.new_file(os.path.join(out, "batches.arrow"), schema) as w:
        for b in batches:
            w.write_batch(b)
    with ipc.new_stream(os.path.join(out, "batches.arrows"), schema) as w:
        for b in batches:
            w.write_batch(b)
    for name in ("batches.arrow", "batches.arrows"):
        print(name, os.path.getsize(os.path.join(out, name)), "bytes")


if __name__ == "__main__":
    main()

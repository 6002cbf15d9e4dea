#!/usr/bin/env python3
"""Generate the Parquet content-defined-chunking fixtures (issue 7, Must show 4).

Writes test/fixtures/parquet/cdc-base.parquet and cdc-inserted.parquet: the
same table, the second with 3% more rows inserted in the middle, both written
by pyarrow with `use_content_defined_chunking`, so that pages of the unchanged
rows come out byte-identical in both files. test/repo/parquet-dedup.test.ts
adds base, then inserted, and checks what the second stores.

No npm Parquet writer supports content-defined chunking (checked in their
sources: hyparquet-writer's ParquetWriteOptions offer codec, statistics,
rowGroupSize and pageSize only; parquet-wasm's WriterPropertiesBuilder wraps
parquet-rs properties without its content-defined-chunking setter), so the
fixtures are generated once with pyarrow and committed; the tests only read
them.

How they were made (pyarrow 25.0.1, CPython 3.11, from the wheel on disk):

    python3 -m venv /tmp/pqvenv
    /tmp/pqvenv/bin/pip install --no-index pyarrow-25.0.1-cp311-cp311-manylinux_2_28_x86_64.whl
    /tmp/pqvenv/bin/python scripts/gen-parquet-cdc.py

The table (deterministic, seeded): 100,000 rows of
  id       int64   row number (inserted rows continue after the last id)
  station  string  one of 40 station names (dictionary-encoded)
  temp     float64 rounded to 0.1, a slow random walk (compresses a little)
  count    int32   small random counts
  note     string  2-5 random words (plain-encoded: dictionary off for it, so
                   inserted rows never rewrite a shared dictionary page)
The inserted copy puts 3,000 new rows (3%) after row 50,000. Written with
compression='snappy', one row group, CDC min 16 KiB / max 64 KiB
(norm_level 0), data page size 1 MiB (so CDC, not the page-size limit, cuts
pages), no page index, no statistics on 'note'. Smaller CDC sizes than
pyarrow's defaults (256 KiB / 1 MiB) keep the file small while still giving
each column many pages.
"""
import os
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq

ROWS = 100_000
INSERT_AT = 50_000
INSERTED = 3_000
STATIONS = [f"station-{i:02d}" for i in range(40)]
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def rows(rng, first_id, n, temp):
    ids, stations, temps, counts, notes = [], [], [], [], []
    for i in range(n):
        temp += rng.uniform(-0.5, 0.5)
        ids.append(first_id + i)
        stations.append(rng.choice(STATIONS))
        temps.append(round(temp, 1))
        counts.append(rng.randrange(0, 1000))
        notes.append(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 6))))
    return {"id": ids, "station": stations, "temp": temps, "count": counts, "note": notes}


def table(cols):
    schema = pa.schema([("id", pa.int64()), ("station", pa.string()), ("temp", pa.float64()),
                        ("count", pa.int32()), ("note", pa.string())])
    return pa.table(cols, schema=schema)


def write(t, path):
    pq.write_table(t, path, compression="snappy", row_group_size=1 << 20, data_page_size=1 << 20,
                   use_dictionary=["station"], write_statistics=["id", "station", "temp", "count"],
                   use_content_defined_chunking={"min_chunk_size": 16 * 1024, "max_chunk_size": 64 * 1024,
                                                 "norm_level": 0})


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "parquet")
    os.makedirs(out, exist_ok=True)
    base = rows(random.Random(7), 0, ROWS, 15.0)
    extra = rows(random.Random(8), ROWS, INSERTED, 15.0)
    inserted = {k: base[k][:INSERT_AT] + extra[k] + base[k][INSERT_AT:] for k in base}
    write(table(base), os.path.join(out, "cdc-base.parquet"))
    write(table(inserted), os.path.join(out, "cdc-inserted.parquet"))
    for name in ("cdc-base.parquet", "cdc-inserted.parquet"):
        p = os.path.join(out, name)
        md = pq.ParquetFile(p).metadata
        print(name, os.path.getsize(p), "bytes,", md.num_rows, "rows,", md.num_row_groups, "row group(s)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Read a .safetensors file with the Python standard library only, following the published format
(8-byte little-endian header length, a JSON header, then the tensors' bytes), and print what it holds as
JSON: the metadata, and per tensor its dtype, shape, the SHA-256 of its bytes and its first values.

It shares no code with tabswarm: the unit test packages/core/src/safetensors.python.test.ts runs it on a
file our writer made, so the file is checked by a second, independent reader.

    python3 tools/read_safetensors.py model.safetensors
"""
import hashlib
import json
import struct
import sys

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > 100_000_000 or 8 + n > len(blob):
        raise ValueError(f"header length {n} does not fit the file ({len(blob)} bytes)")
    raw = blob[8 : 8 + n]
    if raw[:1] != b"{":
        raise ValueError('header does not start with "{"')

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate keys in the header")
        return dict(pairs)

    header = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    data = blob[8 + n :]
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("metadata values must be strings")
    spans = sorted((t["data_offsets"][0], t["data_offsets"][1], name) for name, t in header.items())
    at = 0
    for begin, end, name in spans:
        if begin != at:
            raise ValueError(f"{name} starts at {begin}, expected {at}: a hole or an overlap")
        at = end
    if at != len(data):
        raise ValueError(f"tensors cover {at} of {len(data)} data bytes")
    tensors = []
    for name, t in header.items():
        begin, end = t["data_offsets"]
        count = 1
        for d in t["shape"]:
            count *= d
        if end - begin != count * SIZES[t["dtype"]]:
            raise ValueError(f"{name}: {end - begin} bytes for shape {t['shape']} of {t['dtype']}")
        body = data[begin:end]
        first = list(struct.unpack(f"<{min(count, 4)}f", body[: 4 * min(count, 4)])) if t["dtype"] == "F32" else []
        tensors.append({"name": name, "dtype": t["dtype"], "shape": t["shape"], "sha256": hashlib.sha256(body).hexdigest(), "first": first})
    return {"metadata": metadata, "tensors": tensors}


if __name__ == "__main__":
    try:
        print(json.dumps(read(sys.argv[1])))
    except (ValueError, KeyError, TypeError) as e:
        print(f"not a valid safetensors file: {e}", file=sys.stderr)
        sys.exit(1)

#!/usr/bin/python3
"""Writes the seed files of the safetensors tests with plain numpy, independently of the Go writer.

Layout as the Python safetensors package writes it: header padded with spaces to a multiple of 8.
Run from this directory: ./gen.py
"""
import json, struct

import numpy as np


def write(path, tensors, meta=None):
    header, blobs, off = {}, [], 0
    if meta is not None:
        header["__metadata__"] = meta
    for name, (dtype, arr) in tensors.items():
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)) + js + b"".join(blobs))


bf16 = (np.array([1.5, -2.25], "<f4").view("<u4") >> 16).astype("<u2")
write("mixed.safetensors", {
    "f32": ("F32", np.arange(6, dtype="<f4").reshape(2, 3) - 2.5),
    "f16": ("F16", np.array([0.5, -1.0, 6.1e-5], "<f2")),
    "bf16": ("BF16", bf16),
    "i64": ("I64", np.array(7, "<i8")),
    "f64": ("F64", np.array([0.25, -8.0], "<f8")),
    "u8": ("U8", np.array([0, 255], "u1")),
    "bool": ("BOOL", np.array([True, False], "?")),
}, {"format": "pt", "step": "12"})
write("empty.safetensors", {})
write("zero.safetensors", {"z": ("F32", np.zeros((0, 3), "<f4")), "s": ("F32", np.array(3.0, "<f4"))})

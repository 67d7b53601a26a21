#!/usr/bin/env python3
"""Writes the GGUF reference fixtures with the `gguf` package (pinned in scripts/requirements.txt).

Outputs (tests/fixtures/gguf/):
  all_types.gguf           metadata of every GGUF value type (nested and long arrays included) and one
                           tensor of every type Enclave loads, with random block bytes whose fp16 scale
                           fields are finite; written by gguf.GGUFWriter.
  all_types.dequant.gguf   the same tensor names as F32, dequantized by gguf.quants.dequantize (numpy):
                           the oracle for our dequantizers.
  all_types.expected.json  what gguf.GGUFReader reads back from all_types.gguf: metadata values, and per
                           tensor name, type name, shape (GGUF order), byte size and absolute data offset.

Run: .venv/bin/python scripts/ref/make_gguf_fixtures.py
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "gguf")
SEED = 20261122

# Byte offsets of the fp16 scale fields inside each block (see docs/quant-formats.md).
F16_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}
QUANT_TYPES = [Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K]


def random_blocks(rng, qtype, n_blocks):
    block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    for off in F16_FIELDS[qtype]:
        scales = (rng.standard_normal(n_blocks) * 0.02).astype(np.float16)
        raw[:, off:off + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return raw


def main():
    rng = np.random.default_rng(SEED)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "all_types.gguf")
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.125)
    w.add_uint64("test.u64", 18000000000000000000)
    w.add_int64("test.i64", -9000000000000000000)
    w.add_float64("test.f64", 3.141592653589793)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "DeepSeek 深度求索 ✓")
    w.add_array("test.array_i32", [1, -2, 3])
    w.add_array("test.array_str", ["a", "bc", "<｜User｜>"])
    w.add_array("test.array_nested", [[1, 2], [3, 4, 5]])
    w.add_array("test.array_long", list(range(100)))
    w.add_string("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}\n{% endfor %}")

    dequant = {}
    names = []
    # Plain types.
    f32 = rng.standard_normal((2, 64)).astype(np.float32)
    w.add_tensor("t.F32", f32)
    dequant["t.F32"] = f32
    f16 = (rng.standard_normal((2, 64))).astype(np.float16)
    w.add_tensor("t.F16", f16)
    dequant["t.F16"] = f16.astype(np.float32)
    bf16_src = rng.standard_normal((2, 64)).astype(np.float32)
    bf16 = gguf.quants.quantize(bf16_src, Q.BF16)
    w.add_tensor("t.BF16", bf16, raw_dtype=Q.BF16)
    dequant["t.BF16"] = gguf.quants.dequantize(bf16, Q.BF16)
    names += ["t.F32", "t.F16", "t.BF16"]
    for qtype in QUANT_TYPES:
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        rows, blocks_per_row = 3, 2
        raw = random_blocks(rng, qtype, rows * blocks_per_row).reshape(rows, blocks_per_row * block_bytes)
        name = f"t.{qtype.name}"
        w.add_tensor(name, raw, raw_dtype=qtype)
        dequant[name] = gguf.quants.dequantize(raw, qtype)
        names.append(name)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    dpath = os.path.join(OUT, "all_types.dequant.gguf")
    dw = gguf.GGUFWriter(dpath, arch="llama")
    for name in names:
        dw.add_tensor(name, np.ascontiguousarray(dequant[name], dtype=np.float32))
    dw.write_header_to_file()
    dw.write_kv_data_to_file()
    dw.write_tensors_to_file()
    dw.close()

    r = gguf.GGUFReader(path)
    meta = {}
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            continue
        meta[key] = field.contents()
    tensors = []
    for t in r.tensors:
        tensors.append({
            "name": t.name,
            "type": t.tensor_type.name,
            "shape": [int(x) for x in t.shape],
            "bytes": int(t.n_bytes),
            "offset": int(t.data_offset),
        })
    expected = {"gguf_package_version": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0",
                "metadata": meta, "tensors": tensors}
    with open(os.path.join(OUT, "all_types.expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
    print(f"wrote {path} ({os.path.getsize(path)} bytes), {dpath}, all_types.expected.json")


if __name__ == "__main__":
    sys.exit(main())

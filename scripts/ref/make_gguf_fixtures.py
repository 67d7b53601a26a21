#!/usr/bin/env python3
"""Writes the GGUF reference fixtures with the `gguf` package (pinned in scripts/requirements.txt).

Outputs (tests/fixtures/gguf/), all deterministic (seeded):
  all_types.gguf           metadata of every GGUF value type (nested and long arrays included) and one
                           tensor of every weight type Enclave computes with (F32, F16, BF16, Q4_0, Q4_1,
                           Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K), random block bytes whose fp16
                           scale fields are finite; written by gguf.GGUFWriter.
  all_types.dequant.gguf   the same tensor names as F32, dequantized by gguf.quants.dequantize (numpy):
                           the oracle for our dequantizers.
  extra_types.gguf         alignment 64; the other loadable types (Q8_K, I8, I16, I32, I64, F64) as
                           raw bytes, 3-D and 4-D shapes; arrays of every element type, nested string
                           arrays with an empty string, three levels of nesting.
  unloadable_types.gguf    an F32 tensor beside IQ2_XXS, TQ1_0 and MXFP4 tensors: a well-formed file whose
                           types Enclave names but cannot load (the inspector must list every one).
  deepseek2_metadata.gguf  the deepseek2 hyperparameters of DeepSeek-V3 (spec §2.1) written through gguf-py's
                           own GGUFWriter.add_* methods (the key names llama.cpp's converter uses), with a
                           tiny token_embd: tests that our config reader finds every key, and a fuzz seed.
  enclave_written.gguf     not written here: the output of Enclave's GgufWriter (see gguf_writer_test.cc);
                           only its .expected.json is, which proves the gguf package reads our files.
  <name>.expected.json     for each of these files, what gguf.GGUFReader reads back: header counts,
                           metadata values in file order (nested arrays rebuilt from the reader's parts,
                           since ReaderField.contents() flattens them), and per tensor the name, type name
                           and id, shape (GGUF order), element count, byte size and absolute data offset.

Run: .venv/bin/python scripts/ref/make_gguf_fixtures.py
"""
import importlib.metadata
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

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


def field_value(field):
    """One metadata value as the reader parsed it, nested arrays kept nested.

    Walks ReaderField.parts (the reader's own decoding: key length, key, value type, then the value's
    parts) instead of contents(), which flattens arrays of arrays."""
    parts = field.parts
    pos = 3  # skip key length, key bytes, value type

    def scalar(vtype):
        nonlocal pos
        if vtype == V.STRING:
            text = bytes(parts[pos + 1]).decode("utf-8")
            pos += 2
            return text
        value = parts[pos].tolist()[0]
        pos += 1
        if vtype == V.BOOL:
            return bool(value)
        if vtype in (V.FLOAT32, V.FLOAT64):
            return float(value)
        return int(value)

    def value(vtype):
        nonlocal pos
        if vtype != V.ARRAY:
            return scalar(vtype)
        elem_type = V(int(parts[pos][0]))
        count = int(parts[pos + 1][0])
        pos += 2
        return [value(elem_type) for _ in range(count)]

    return value(V(int(parts[2][0])))


def write_expected(path):
    r = gguf.GGUFReader(path)
    header = {}
    meta = {}
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            header[key] = int(field.parts[-1][0])
            continue
        meta[key] = field_value(field)
    tensors = []
    for t in r.tensors:
        tensors.append({
            "name": t.name,
            "type": t.tensor_type.name,
            "type_id": int(t.tensor_type.value),
            "shape": [int(x) for x in t.shape],
            "n_elements": int(t.n_elements),
            "bytes": int(t.n_bytes),
            "offset": int(t.data_offset),
        })
    expected = {
        "generator": "scripts/ref/make_gguf_fixtures.py",
        "gguf_package_version": importlib.metadata.version("gguf"),
        "file_size": os.path.getsize(path),
        "alignment": int(r.alignment),
        "header": header,
        "metadata": meta,
        "tensors": tensors,
    }
    out = path[:-len(".gguf")] + ".expected.json"
    with open(out, "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_extra_types(rng):
    path = os.path.join(OUT, "extra_types.gguf")
    w = gguf.GGUFWriter(path, arch="deepseek2")
    w.add_custom_alignment(64)
    typed = {
        V.UINT8: [0, 255], V.INT8: [-128, 127], V.UINT16: [0, 65535], V.INT16: [-32768, 32767],
        V.UINT32: [0, 4294967295], V.INT32: [-2147483648, 2147483647],
        V.UINT64: [0, 18446744073709551615], V.INT64: [-9223372036854775808, 9223372036854775807],
        V.FLOAT32: [0.1, -1e30, 6e-8], V.FLOAT64: [0.1, -1e300, 5e-324], V.BOOL: [True, False, True],
    }
    for vtype, values in typed.items():
        w.add_key_value(f"array.{vtype.name.lower()}", values, V.ARRAY, sub_type=vtype)
    w.add_array("array.strings_nested", [["a", ""], ["深度"], ["x", "y", "z"]])
    w.add_array("array.depth3", [[[1, 2], [3]], [[4]]])
    w.add_float32("deepseek2.expert_weights_scale", 2.5)
    w.add_uint32("deepseek2.expert_gating_func", 2)
    # Loadable non-weight types, as raw bytes with the reader's expected sizes.
    # Not Q8_1: gguf 0.19 sizes its block as 40 bytes (two f32 scales), but ggml's block_q8_1 has two
    # fp16 scales, 36 bytes (ggml_type_size(GGML_TYPE_Q8_1) == 36 in llama.cpp), so the package's
    # expectations would be wrong. Q8_1 is an activation type; it does not appear in model files.
    for qtype, shape in [(Q.Q8_K, (2, 256))]:
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(shape[0], shape[1] // block_elems * block_bytes), dtype=np.uint8)
        w.add_tensor(f"t.{qtype.name}", raw, raw_dtype=qtype)
    w.add_tensor("t.I8", rng.integers(-128, 128, size=(2, 3, 5), dtype=np.int8))
    w.add_tensor("t.I16", rng.integers(-1000, 1000, size=(7,), dtype=np.int16))
    w.add_tensor("t.I32", rng.integers(-10**9, 10**9, size=(2, 2, 2, 3), dtype=np.int32))
    w.add_tensor("t.I64", rng.integers(-10**15, 10**15, size=(4, 1), dtype=np.int64))
    w.add_tensor("t.F64", rng.standard_normal((3, 3)))
    finish(w)
    write_expected(path)


def write_unloadable_types(rng):
    path = os.path.join(OUT, "unloadable_types.gguf")
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_tensor("blk.0.attn_norm.weight", rng.standard_normal(64).astype(np.float32))
    for qtype, rows in [(Q.IQ2_XXS, 2), (Q.TQ1_0, 1), (Q.MXFP4, 4)]:
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(rows, 256 // block_elems * block_bytes), dtype=np.uint8)
        w.add_tensor(f"blk.0.{qtype.name.lower()}.weight", raw, raw_dtype=qtype)
    finish(w)
    write_expected(path)


def write_deepseek2_metadata(rng):
    path = os.path.join(OUT, "deepseek2_metadata.gguf")
    w = gguf.GGUFWriter(path, arch="deepseek2")
    w.add_block_count(61)
    w.add_context_length(163840)
    w.add_embedding_length(7168)
    w.add_feed_forward_length(18432)
    w.add_head_count(128)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(2)
    w.add_leading_dense_block_count(3)
    w.add_q_lora_rank(1536)
    w.add_kv_lora_rank(512)
    w.add_key_length(576)
    w.add_value_length(512)
    w.add_key_length_mla(192)
    w.add_value_length_mla(128)
    w.add_expert_feed_forward_length(2048)
    w.add_expert_count(256)
    w.add_expert_used_count(8)
    w.add_expert_shared_count(1)
    w.add_expert_group_count(8)
    w.add_expert_group_used_count(4)
    w.add_expert_weights_scale(2.5)
    w.add_expert_weights_norm(True)
    w.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
    w.add_rope_dimension_count(64)
    w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    w.add_rope_scaling_factor(40.0)
    w.add_rope_scaling_orig_ctx_len(4096)
    w.add_rope_scaling_yarn_log_mul(0.1)
    w.add_nextn_predict_layers(1)
    w.add_tensor("token_embd.weight", rng.standard_normal((2, 7168)).astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


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

    write_expected(path)
    write_extra_types(rng)
    write_unloadable_types(rng)
    write_deepseek2_metadata(rng)
    # Written by Enclave's GgufWriter (tests/unit/gguf_writer_test.cc keeps it byte-identical to the
    # writer's output): reading it here proves the gguf package accepts what we write.
    written = os.path.join(OUT, "enclave_written.gguf")
    if os.path.exists(written):
        write_expected(written)
    print(f"wrote {path} ({os.path.getsize(path)} bytes), {dpath}, extra_types.gguf, unloadable_types.gguf "
          "and their .expected.json")


if __name__ == "__main__":
    sys.exit(main())

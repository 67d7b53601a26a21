#!/usr/bin/env python3
"""safetensors fixtures (tests/fixtures/safetensors/); tests/fixtures/safetensors/README.md describes each.

Good models, each with <name>.expected.json = what `enclave inspect --json` must report, computed here by
reading the header by hand and cross-checked against safetensors.safe_open (names, dtypes, shapes):
  single/            safetensors.numpy.save_file: F32, F16, I8, I32, I64, U8, a scalar, __metadata__;
                     a Qwen2-style config.json
  sharded/           two shards (save_file) + model.safetensors.index.json; DeepSeek-V3 config.json
  fp8/               DeepSeek-V3 style, written byte by byte (numpy has no fp8/bf16): F8_E4M3 weights with F32
                     weight_scale_inv (partial edge blocks), a BF16 tensor; <weight>.expected.f32 = the
                     dequantized weight computed with numpy from the format definition
  all_dtypes.safetensors  one tensor of every dtype safetensors 0.8 knows (incl. sub-byte F4/F6)
  fp8_e4m3_table.f32 the 256 E4M3 codes decoded with exact rational arithmetic (fractions.Fraction)
  configs/           config.json of each family (values from DEEPSEEK_SPEC.md 1.1 / 2.1)
  malformed/         one broken file or directory per rule; EXPECTED.tsv maps each to words its error must contain

Run: .venv/bin/python scripts/ref/make_safetensors_fixtures.py   (numpy==2.3.5, safetensors==0.8.0)
"""
import json
import os
import shutil
import struct
from fractions import Fraction

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "safetensors")
ROOT = os.path.normpath(ROOT)
rng = np.random.default_rng(11)

QWEN2_CONFIG = {  # R1-Distill-Qwen-1.5B's fields, tiny sizes
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 256,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False,
    "torch_dtype": "bfloat16", "bos_token_id": 151643, "eos_token_id": 151643, "use_sliding_window": False,
    "sliding_window": None, "attention_dropout": 0.0,
}
QWEN2_1_5B_CONFIG = dict(QWEN2_CONFIG, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, vocab_size=151936)
V3_CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "hidden_size": 7168,
    "intermediate_size": 18432, "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
    "num_key_value_heads": 128, "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8,
    "first_k_dense_replace": 3, "moe_layer_freq": 1, "n_group": 8, "topk_group": 4, "topk_method": "noaux_tc",
    "scoring_func": "sigmoid", "norm_topk_prob": True, "routed_scaling_factor": 2.5, "q_lora_rank": 1536,
    "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128, "vocab_size": 129280,
    "max_position_embeddings": 163840, "rms_norm_eps": 1e-6, "rope_theta": 10000,
    "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
                     "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
    "bos_token_id": 0, "eos_token_id": 1, "tie_word_embeddings": False, "attention_bias": False,
    "num_nextn_predict_layers": 1, "torch_dtype": "bfloat16",
    "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                            "weight_block_size": [128, 128]},
}
V2_LITE_CONFIG = {
    "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2", "hidden_size": 2048,
    "intermediate_size": 10944, "moe_intermediate_size": 1408, "num_hidden_layers": 27, "num_attention_heads": 16,
    "num_key_value_heads": 16, "n_routed_experts": 64, "n_shared_experts": 2, "num_experts_per_tok": 6,
    "first_k_dense_replace": 1, "moe_layer_freq": 1, "n_group": 1, "topk_group": 1, "q_lora_rank": None,
    "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128, "vocab_size": 102400,
    "max_position_embeddings": 163840, "rms_norm_eps": 1e-6, "rope_theta": 10000, "topk_method": "greedy",
    "scoring_func": "softmax", "norm_topk_prob": False, "routed_scaling_factor": 1.0,
    "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
                     "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707},
    "bos_token_id": 100000, "eos_token_id": 100001, "tie_word_embeddings": False, "attention_bias": False,
    "torch_dtype": "bfloat16",
}
LLAMA_CONFIG = {  # R1-Distill-Llama-8B
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192},
    "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "tie_word_embeddings": False,
    "attention_bias": False, "head_dim": 128, "torch_dtype": "bfloat16",
}
CODER_CONFIG = {  # deepseek-coder-1.3b-instruct: linear rope scaling
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048, "intermediate_size": 5504,
    "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": 32256,
    "max_position_embeddings": 16384, "rms_norm_eps": 1e-6, "rope_theta": 100000,
    "rope_scaling": {"type": "linear", "factor": 4.0}, "bos_token_id": 32013, "eos_token_id": 32021,
    "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}
# transformers 5 layout: rope_parameters holds rope_theta, "dtype" replaces "torch_dtype".
LLAMA_V5_CONFIG = {k: v for k, v in LLAMA_CONFIG.items() if k not in ("rope_theta", "rope_scaling", "torch_dtype")}
LLAMA_V5_CONFIG |= {"rope_parameters": dict(LLAMA_CONFIG["rope_scaling"], rope_theta=500000.0), "dtype": "bfloat16"}


def dump_json(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def raw_file(path, entries, meta=None, header_override=None, pad_to=8, extra=b""):
    """Writes a safetensors file by hand: entries = [(name, dtype, shape, bytes)]."""
    header, blobs, off = {}, [], 0
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, data in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    text = header_override if header_override is not None else json.dumps(header)
    hb = text.encode() if isinstance(text, str) else text
    hb += b" " * ((-len(hb)) % pad_to)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs) + extra)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def describe_file(path):
    """Reads one file's header by hand: the tensors as `enclave inspect` must list them."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None)
    out = []
    for name, e in header.items():
        b, end = e["data_offsets"]
        out.append({"name": name, "type": e["dtype"], "shape": list(reversed(e["shape"])),
                    "n_elements": int(np.prod(e["shape"], dtype=np.uint64)), "bytes": end - b,
                    "offset": 8 + n + b, "file": os.path.basename(path),
                    "fnv1a64": fnv1a64(raw[8 + n + b:8 + n + end])})
    # Cross-check against the reference reader.
    with safe_open(path, framework="numpy") as f:
        assert sorted(f.keys()) == sorted(t["name"] for t in out), path
        for t in out:
            sl = f.get_slice(t["name"])
            assert sl.get_dtype() == t["type"] and list(reversed(sl.get_shape())) == t["shape"], t
            if t["type"] in ("F32", "F16", "I8", "I32", "I64", "U8"):
                assert fnv1a64(f.get_tensor(t["name"]).tobytes()) == t["fnv1a64"], t
        assert (f.metadata() or None) == meta, path
    return sorted(out, key=lambda t: t["offset"]), meta, len(raw)


def expected_report(paths, config):
    tensors, metas, size = [], [], 0
    for p in sorted(paths):
        t, m, s = describe_file(p)
        tensors += t
        metas.append(m)
        size += s
    return {"format": "safetensors", "architecture": config["model_type"] if config else "",
            "file_size": size, "parameter_count": sum(t["n_elements"] for t in tensors), "shards": len(paths),
            "metadata": metas[0] if metas and all(m == metas[0] for m in metas) else None, "tensors": tensors}


def write_model_dir(d, config):
    if config is not None:
        dump_json(config, os.path.join(d, "config.json"))
    paths = [os.path.join(d, f) for f in os.listdir(d) if f.endswith(".safetensors")]
    dump_json(expected_report(paths, config), d + ".expected.json")


def fp8_decode(codes):
    """float8_e4m3fn from its definition, vectorised in numpy."""
    v = codes.astype(np.int32)
    sign = np.where(v >> 7, -1.0, 1.0)
    e, m = (v >> 3) & 0xF, v & 7
    val = np.where(e == 0, (m / 8.0) * 2.0 ** -6, (1 + m / 8.0) * 2.0 ** (e - 7.0))
    val = np.where((e == 15) & (m == 7), np.nan, val)
    return (sign * val).astype(np.float32)


def fp8_table_exact():
    """The same definition with exact rationals: an independent second derivation."""
    out = []
    for code in range(256):
        s, e, m = code >> 7, (code >> 3) & 15, code & 7
        if e == 15 and m == 7:
            out.append(float("nan"))
            continue
        mag = Fraction(m, 8) * Fraction(1, 64) if e == 0 else (1 + Fraction(m, 8)) * Fraction(2) ** (e - 7)
        out.append(-float(mag) if s else float(mag))  # float negation keeps -0.0 for 0x80
    t = np.array(out, np.float32)
    ref = fp8_decode(np.arange(256, dtype=np.uint8))
    assert np.array_equal(t, ref, equal_nan=True)
    return t


def fp8_weight(rows, cols):
    codes = rng.integers(0, 256, (rows, cols)).astype(np.uint8)
    codes[(codes & 0x7F) == 0x7F] -= 1  # no NaN codes in weights: exact comparisons
    scale = rng.uniform(0.5, 2.0, (-(-rows // 128), -(-cols // 128))).astype(np.float32)
    expect = fp8_decode(codes) * np.repeat(np.repeat(scale, 128, 0), 128, 1)[:rows, :cols]
    return codes, scale, expect.astype(np.float32)


def clean_root():
    os.makedirs(ROOT, exist_ok=True)
    for name in os.listdir(ROOT):
        if name == "README.md":
            continue
        p = os.path.join(ROOT, name)
        shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)


def main():
    clean_root()
    single, fp8, sharded, bad, configs = (os.path.join(ROOT, x) for x in ("single", "fp8", "sharded", "malformed",
                                                                         "configs"))
    for d in (single, fp8, sharded, bad, configs):
        os.makedirs(d)

    save_file({
        "model.embed_tokens.weight": rng.standard_normal((16, 8)).astype(np.float32),
        "model.norm.weight": np.ones(8, np.float16),
        "q.int8": rng.integers(-128, 127, (3, 5)).astype(np.int8),
        "q.int32": rng.integers(-1000, 1000, (4,)).astype(np.int32),
        "ids.int64": np.arange(6, dtype=np.int64).reshape(2, 3),
        "mask.u8": rng.integers(0, 255, (7,)).astype(np.uint8),
        "scalar": np.array(3.5, np.float32),
        "empty": np.zeros((0, 4), np.float32),
    }, os.path.join(single, "model.safetensors"), metadata={"format": "pt"})
    write_model_dir(single, QWEN2_CONFIG)

    up_codes, up_scale, up_expect = fp8_weight(200, 300)     # partial blocks in both dimensions
    kv_codes, kv_scale, kv_expect = fp8_weight(128, 257)     # exact rows, a 1-column edge block
    bf16 = (rng.standard_normal(10).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    raw_file(os.path.join(fp8, "model.safetensors"), [
        ("model.layers.0.mlp.up_proj.weight", "F8_E4M3", [200, 300], up_codes.tobytes()),
        ("model.layers.0.mlp.up_proj.weight_scale_inv", "F32", [2, 3], up_scale.tobytes()),
        ("model.layers.0.self_attn.kv_b_proj.weight", "F8_E4M3", [128, 257], kv_codes.tobytes()),
        ("model.layers.0.self_attn.kv_b_proj.weight_scale_inv", "F32", [1, 3], kv_scale.tobytes()),
        ("model.norm.weight", "BF16", [10], bf16.tobytes()),
    ], meta={"format": "pt"})
    up_expect.tofile(os.path.join(fp8, "model.layers.0.mlp.up_proj.weight.expected.f32"))
    kv_expect.tofile(os.path.join(fp8, "model.layers.0.self_attn.kv_b_proj.weight.expected.f32"))
    write_model_dir(fp8, V3_CONFIG)
    fp8_table_exact().tofile(os.path.join(ROOT, "fp8_e4m3_table.f32"))

    a = {"model.layers.0.self_attn.q_proj.weight": rng.standard_normal((8, 8)).astype(np.float32),
         "model.embed_tokens.weight": rng.standard_normal((16, 8)).astype(np.float16)}
    b = {"model.layers.1.self_attn.q_proj.weight": rng.standard_normal((8, 8)).astype(np.float32),
         "lm_head.weight": rng.standard_normal((16, 8)).astype(np.float16)}
    save_file(a, os.path.join(sharded, "model-00001-of-00002.safetensors"), metadata={"format": "pt"})
    save_file(b, os.path.join(sharded, "model-00002-of-00002.safetensors"), metadata={"format": "pt"})
    wm = {k: "model-00001-of-00002.safetensors" for k in a} | {k: "model-00002-of-00002.safetensors" for k in b}
    dump_json({"metadata": {"total_size": 2 * (256 + 256)}, "weight_map": dict(sorted(wm.items()))},
              os.path.join(sharded, "model.safetensors.index.json"))
    write_model_dir(sharded, V3_CONFIG)

    # Every dtype of safetensors 0.8; sub-byte ones pack 2 (F4) or 4/3 (F6) elements per byte.
    sizes = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
             "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
             "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64}
    all_dtypes = os.path.join(ROOT, "all_dtypes.safetensors")
    raw_file(all_dtypes, [(f"t.{dt}", dt, [2, 4], rng.integers(0, 256, 8 * bits // 8).astype(np.uint8).tobytes())
                          for dt, bits in sizes.items()])
    dump_json(expected_report([all_dtypes], None), os.path.join(ROOT, "all_dtypes.expected.json"))

    for name, cfg in [("qwen2_1_5b", QWEN2_1_5B_CONFIG), ("deepseek_v3", V3_CONFIG),
                      ("deepseek_v2_lite", V2_LITE_CONFIG), ("llama3", LLAMA_CONFIG), ("coder", CODER_CONFIG),
                      ("llama3_transformers5", LLAMA_V5_CONFIG)]:
        dump_json(cfg, os.path.join(configs, name + ".json"))

    make_malformed(bad, sharded, single, fp8)


def make_malformed(bad, sharded, single, fp8):
    f32 = np.arange(4, dtype=np.float32).tobytes()
    cases = {}

    def blob(name, word, data):
        open(os.path.join(bad, name + ".safetensors"), "wb").write(data)
        cases[name + ".safetensors"] = word

    def hdr(name, word, header, data=b""):
        text = header if isinstance(header, str) else json.dumps(header)
        blob(name, word, struct.pack("<Q", len(text.encode())) + text.encode() + data)

    def t(dtype="F32", shape=(4,), offsets=(0, 16)):
        return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}

    blob("empty_file", "too small", b"")
    blob("truncated_length", "too small", b"\x10\x00\x00")
    blob("header_past_end", "past the end", struct.pack("<Q", 1000) + b"{}")
    blob("huge_header_length", "limit", struct.pack("<Q", 1 << 60) + b"{}")
    hdr("zero_header_length", "invalid JSON", "")
    hdr("invalid_json", "invalid JSON", '{"t": {"dtype": ', f32)
    hdr("not_object", "must be an object", "[1, 2, 3]")
    blob("bad_utf8_header", "UTF-8", struct.pack("<Q", 4) + b'{"\xff"' + f32)
    hdr("deep_nesting", "nested deeper", '{"__metadata__": ' + "[" * 100 + "]" * 100 + "}")
    hdr("duplicate_names", "more than once",
        '{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
        '"t": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}', f32)
    hdr("bad_metadata", "__metadata__ must be an object", {"__metadata__": [1]})
    hdr("metadata_not_string", "not a string", {"__metadata__": {"format": 1}})
    hdr("entry_not_object", "entry must be an object", {"t": 5})
    hdr("missing_fields", "dtype, shape and data_offsets", {"t": {"dtype": "F32", "shape": [4]}})
    hdr("dtype_not_string", "dtype is not a string", {"t": t(dtype=4)}, f32)
    hdr("bad_dtype", "unknown dtype 'Q4'", {"t": t(dtype="Q4")}, f32)
    hdr("negative_shape", "not a non-negative integer", {"t": t(shape=[-4])}, f32)
    hdr("float_shape", "not a non-negative integer", {"t": t(shape=[4.0])}, f32)
    hdr("zero_then_string_shape", "not a non-negative integer", {"t": t(shape=[0, "x"], offsets=[0, 0])})
    hdr("too_many_dims", "at most 8", {"t": t(shape=[1] * 9, offsets=[0, 4])}, f32[:4])
    hdr("overflowing_shape", "overflows", {"t": t(shape=[1 << 40, 1 << 40])}, f32)
    hdr("bad_offsets_count", "two non-negative integers", {"t": t(offsets=[0, 8, 16])}, f32)
    hdr("negative_offset", "two non-negative integers", {"t": t(offsets=[-16, 0])}, f32)
    hdr("begin_after_end", "begin after", {"t": t(shape=[0], offsets=[16, 0])}, f32)
    hdr("shape_offsets_mismatch", "needs 16 bytes", {"t": t(offsets=[0, 12])}, f32)
    hdr("subbyte_misaligned", "not a whole number of bytes", {"t": t(dtype="F4", shape=[3], offsets=[0, 2])}, f32[:2])
    hdr("offsets_past_end", "past the data section", {"t": t(offsets=[100, 116])}, f32)
    hdr("overlapping_ranges", "overlap", {"a": t(), "b": t(shape=[2], offsets=[8, 16])}, f32)
    hdr("hole_in_data", "belong to no tensor", {"a": t(shape=[2], offsets=[0, 8]), "b": t(shape=[1], offsets=[12, 16])}, f32)
    hdr("trailing_bytes", "cover only", {"a": t(shape=[2], offsets=[0, 8])}, f32)

    def bad_dir(name, word, src, index_edit=None, remove=(), config=None, write=None):
        d = os.path.join(bad, name)
        shutil.copytree(src, d, ignore=shutil.ignore_patterns("*.expected.f32"))
        for f in remove:
            os.remove(os.path.join(d, f))
        idx_path = os.path.join(d, "model.safetensors.index.json")
        if index_edit is not None:
            idx = json.load(open(idx_path))
            r = index_edit(idx)
            if isinstance(r, str):
                open(idx_path, "w").write(r)
            else:
                dump_json(idx, idx_path)
        if config is not None:
            open(os.path.join(d, "config.json"), "w").write(config)
        if write is not None:
            write(d)
        cases[name] = word

    shard1, shard2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    bad_dir("missing_shard", "does not exist", sharded, remove=[shard2])
    bad_dir("index_wrong_shard", "model.safetensors.index.json says", sharded,
            lambda i: i["weight_map"].update({"lm_head.weight": shard1}))
    bad_dir("index_absent_tensor", "which does not hold it", sharded,
            lambda i: i["weight_map"].update({"model.layers.2.mlp.up_proj.weight": shard2}))
    bad_dir("shard_tensor_not_in_index", "is not listed in", sharded,
            lambda i: i["weight_map"].pop("lm_head.weight") and None)
    bad_dir("path_traversal", "not a plain file name", sharded,
            lambda i: i["weight_map"].update({"lm_head.weight": "../../etc/passwd"}))
    bad_dir("index_invalid_json", "invalid JSON", sharded, lambda i: '{"weight_map": {')
    bad_dir("index_no_weight_map", "weight_map", sharded, lambda i: '{"metadata": {}}')
    bad_dir("index_duplicate_tensor", "more than once", sharded,
            lambda i: '{"weight_map": {"lm_head.weight": "%s", "lm_head.weight": "%s"}}' % (shard2, shard2))
    bad_dir("no_config", "config.json is missing", single, remove=["config.json"])
    bad_dir("bad_config", "field 'hidden_size' must be an integer", single,
            config=json.dumps(dict(QWEN2_CONFIG, hidden_size="64")))
    bad_dir("bad_config_json", "config.json: invalid JSON", single, config='{"model_type": "qwen2",')
    bad_dir("no_tensors", "holds no .safetensors file", single, remove=["model.safetensors"])

    def fp8_dir(name, word, entries):
        d = os.path.join(bad, name)
        os.makedirs(d)
        raw_file(os.path.join(d, "model.safetensors"), entries)
        dump_json(V3_CONFIG, os.path.join(d, "config.json"))
        cases[name] = word

    codes, scale, _ = fp8_weight(130, 140)  # scale_inv [2, 2]
    w = ("w.weight", "F8_E4M3", [130, 140], codes.tobytes())
    fp8_dir("fp8_missing_scale", "has no 'w.weight_scale_inv'", [w])
    fp8_dir("fp8_bad_scale_shape", "needs a scale_inv of [2, 2]",
            [w, ("w.weight_scale_inv", "F32", [1, 4], scale.tobytes())])
    fp8_dir("fp8_bad_scale_dtype", "2-D F32 or BF16 scale", [w, ("w.weight_scale_inv", "I32", [2, 2], scale.tobytes())])
    fp8_dir("fp8_orphan_scale", "scale without an F8_E4M3 weight",
            [("w.weight", "F32", [2, 2], f32), ("w.weight_scale_inv", "F32", [1, 1], f32[:4])])

    with open(os.path.join(bad, "EXPECTED.tsv"), "w") as f:
        f.write("# file or directory\twords the error message must contain\n")
        for k in sorted(cases):
            f.write(f"{k}\t{cases[k]}\n")
    print(f"wrote fixtures under {ROOT}: {len(cases)} malformed cases")


if __name__ == "__main__":
    main()

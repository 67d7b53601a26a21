#!/usr/bin/env python3
"""safetensors fixtures (tests/fixtures/safetensors/).

  single/         model.safetensors written by safetensors.numpy.save_file (safetensors==0.8.0) with F32,
                  F16, I8, I32, I64, U8 tensors and __metadata__, plus a Qwen2-style config.json
  fp8/            a DeepSeek-V3-style file with an F8_E4M3 weight [200, 300] and its F32 weight_scale_inv
                  [2, 3], a BF16 tensor, written byte by byte (numpy has no fp8/bf16 dtype), plus
                  fp8_expected.f32: the dequantized weight computed here with numpy from the format definition
  sharded/        two shards + model.safetensors.index.json (save_file), DeepSeek-V3 config.json
  *.expected.json what safetensors.safe_open reads back (names, dtypes, shapes) for each directory
  malformed/      one broken file or directory per rule; EXPECTED.tsv maps each to words its error must contain

Run: .venv/bin/python scripts/ref/make_safetensors_fixtures.py
"""
import json
import os
import shutil
import struct

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "safetensors")
rng = np.random.default_rng(11)

QWEN2_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 256,
    "max_position_embeddings": 1024, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False,
    "torch_dtype": "float32", "bos_token_id": 151643, "eos_token_id": 151643, "use_sliding_window": False,
    "sliding_window": None,
}
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
    "bos_token_id": 0, "eos_token_id": 1, "tie_word_embeddings": False, "num_nextn_predict_layers": 1,
    "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                            "weight_block_size": [128, 128]},
}
V2_LITE_CONFIG = {
    "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2", "hidden_size": 2048,
    "intermediate_size": 10944, "moe_intermediate_size": 1408, "num_hidden_layers": 27, "num_attention_heads": 16,
    "num_key_value_heads": 16, "n_routed_experts": 64, "n_shared_experts": 2, "num_experts_per_tok": 6,
    "first_k_dense_replace": 1, "q_lora_rank": None, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64, "v_head_dim": 128, "vocab_size": 102400, "topk_method": "greedy",
    "scoring_func": "softmax", "norm_topk_prob": False, "routed_scaling_factor": 1.0,
    "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
                     "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707},
    "bos_token_id": 100000, "eos_token_id": 100001,
}
LLAMA_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192},
    "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "tie_word_embeddings": False,
}


def raw_file(path, entries, meta=None, header_override=None, pad_to=8):
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
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))


def expected_json(d):
    out = {}
    for name in sorted(os.listdir(d)):
        if not name.endswith(".safetensors"):
            continue
        with safe_open(os.path.join(d, name), framework="numpy") as f:
            for k in f.keys():
                sl = f.get_slice(k)
                out[k] = {"file": name, "dtype": sl.get_dtype(), "shape": list(sl.get_shape())}
    return out


def fp8_decode(codes):
    v = codes.astype(np.int32)
    sign = np.where(v >> 7, -1.0, 1.0)
    e, m = (v >> 3) & 0xF, v & 7
    val = np.where(e == 0, (m / 8.0) * 2.0 ** -6, (1 + m / 8.0) * 2.0 ** (e - 7.0))
    val = np.where((e == 15) & (m == 7), np.nan, val)
    return (sign * val).astype(np.float32)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    single, fp8, sharded, bad = (os.path.join(ROOT, x) for x in ("single", "fp8", "sharded", "malformed"))
    for d in (single, fp8, sharded, bad):
        os.makedirs(d)
    save_file({
        "model.embed_tokens.weight": rng.standard_normal((16, 8)).astype(np.float32),
        "model.norm.weight": np.ones(8, np.float16),
        "q.int8": rng.integers(-128, 127, (3, 5)).astype(np.int8),
        "q.int32": rng.integers(-1000, 1000, (4,)).astype(np.int32),
        "ids.int64": np.arange(6, dtype=np.int64).reshape(2, 3),
        "mask.u8": rng.integers(0, 255, (7,)).astype(np.uint8),
        "scalar": np.array(3.5, np.float32),
    }, os.path.join(single, "model.safetensors"), metadata={"format": "pt"})
    json.dump(QWEN2_CONFIG, open(os.path.join(single, "config.json"), "w"), indent=1)

    codes = rng.integers(0, 256, (200, 300)).astype(np.uint8)
    codes[codes == 0x7F] = 0x7E
    codes[codes == 0xFF] = 0xFE
    scale = rng.uniform(0.5, 2.0, (2, 3)).astype(np.float32)
    bf16 = (rng.standard_normal(10).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    raw_file(os.path.join(fp8, "model.safetensors"), [
        ("model.layers.0.mlp.up_proj.weight", "F8_E4M3", [200, 300], codes.tobytes()),
        ("model.layers.0.mlp.up_proj.weight_scale_inv", "F32", [2, 3], scale.tobytes()),
        ("model.norm.weight", "BF16", [10], bf16.tobytes()),
    ], meta={"format": "pt"})
    expect = fp8_decode(codes) * np.repeat(np.repeat(scale, 128, 0), 128, 1)[:200, :300]
    expect.astype(np.float32).tofile(os.path.join(fp8, "fp8_expected.f32"))
    json.dump(V3_CONFIG, open(os.path.join(fp8, "config.json"), "w"), indent=1)

    a = {"model.layers.0.self_attn.q_proj.weight": rng.standard_normal((8, 8)).astype(np.float32),
         "model.embed_tokens.weight": rng.standard_normal((16, 8)).astype(np.float16)}
    b = {"model.layers.1.self_attn.q_proj.weight": rng.standard_normal((8, 8)).astype(np.float32),
         "lm_head.weight": rng.standard_normal((16, 8)).astype(np.float16)}
    save_file(a, os.path.join(sharded, "model-00001-of-00002.safetensors"))
    save_file(b, os.path.join(sharded, "model-00002-of-00002.safetensors"))
    wm = {k: "model-00001-of-00002.safetensors" for k in a} | {k: "model-00002-of-00002.safetensors" for k in b}
    json.dump({"metadata": {"total_size": 0}, "weight_map": wm},
              open(os.path.join(sharded, "model.safetensors.index.json"), "w"), indent=1)
    json.dump(V3_CONFIG, open(os.path.join(sharded, "config.json"), "w"), indent=1)

    configs = os.path.join(ROOT, "configs")
    os.makedirs(configs)
    for name, cfg in [("qwen2", QWEN2_CONFIG), ("deepseek_v3", V3_CONFIG), ("deepseek_v2_lite", V2_LITE_CONFIG),
                      ("llama3", LLAMA_CONFIG)]:
        json.dump(cfg, open(os.path.join(configs, name + ".json"), "w"), indent=1)

    for d in (single, fp8, sharded):
        json.dump(expected_json(d), open(d + ".expected.json", "w"), indent=1)

    # Malformed corpus.
    f32 = np.arange(4, dtype=np.float32).tobytes()
    cases = {}

    def case(name, word, **kw):
        raw_file(os.path.join(bad, name + ".safetensors"), **kw)
        cases[name + ".safetensors"] = word

    def blob(name, word, data):
        open(os.path.join(bad, name + ".safetensors"), "wb").write(data)
        cases[name + ".safetensors"] = word

    good_header = json.dumps({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})
    blob("truncated_length", "too small", b"\x10\x00\x00")
    blob("header_past_end", "past the end", struct.pack("<Q", 1000) + b"{}")
    blob("huge_header_length", "limit", struct.pack("<Q", 1 << 60) + b"{}")
    case("invalid_json", "invalid JSON", entries=[("t", "F32", [4], f32)], header_override='{"t": {"dtype": ')
    case("not_object", "must be an object", entries=[], header_override="[1, 2, 3]")
    case("bad_dtype", "unknown dtype", entries=[], header_override=json.dumps({"t": {"dtype": "Q4", "shape": [4], "data_offsets": [0, 16]}}))
    case("shape_offsets_mismatch", "needs 16 bytes", entries=[], header_override=json.dumps({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}))
    case("overflowing_shape", "overflows", entries=[], header_override=json.dumps({"t": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 16]}}))
    case("offsets_past_end", "past the data section", entries=[], header_override=json.dumps({"t": {"dtype": "F32", "shape": [4], "data_offsets": [100, 116]}}))
    case("begin_after_end", "begin after", entries=[], header_override=json.dumps({"t": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}}))
    case("negative_shape", "non-negative integers", entries=[], header_override=json.dumps({"t": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}))
    case("float_shape", "non-negative integers", entries=[], header_override=json.dumps({"t": {"dtype": "F32", "shape": [4.0], "data_offsets": [0, 16]}}))
    case("missing_fields", "dtype, shape and data_offsets", entries=[], header_override=json.dumps({"t": {"dtype": "F32", "shape": [4]}}))
    case("duplicate_names", "more than once", entries=[],
         header_override='{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "t": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}')
    case("deep_nesting", "nested deeper", entries=[], header_override='{"__metadata__": ' + "[" * 100 + "]" * 100 + "}")
    case("bad_metadata", "__metadata__ must be an object", entries=[], header_override=json.dumps({"__metadata__": [1]}))
    # Valid JSON but overlapping / holes need data bytes.
    hdr = json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                      "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})
    blob("overlapping_ranges", "overlap", struct.pack("<Q", len(hdr)) + hdr.encode() + f32)
    hdr = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}})
    blob("hole_in_data", "belong to no tensor", struct.pack("<Q", len(hdr)) + hdr.encode() + f32)
    blob("bad_utf8_header", "UTF-8", struct.pack("<Q", 4) + b'{"\xff"' + f32)
    # Broken sharded directories.
    for name, word, mutate in [
        ("missing_shard", "does not exist", lambda d: os.remove(os.path.join(d, "model-00002-of-00002.safetensors"))),
        ("index_wrong_shard", "the index says", None),
        ("path_traversal", "not a plain file name", None),
    ]:
        d = os.path.join(bad, name)
        shutil.copytree(sharded, d)
        if mutate:
            mutate(d)
        idx_path = os.path.join(d, "model.safetensors.index.json")
        idx = json.load(open(idx_path))
        if name == "index_wrong_shard":
            idx["weight_map"]["lm_head.weight"] = "model-00001-of-00002.safetensors"
        if name == "path_traversal":
            idx["weight_map"]["lm_head.weight"] = "../../etc/passwd"
        json.dump(idx, open(idx_path, "w"), indent=1)
        cases[name] = word
    with open(os.path.join(bad, "EXPECTED.tsv"), "w") as f:
        f.write("# file or directory\twords the error message must contain\n")
        for k in sorted(cases):
            f.write(f"{k}\t{cases[k]}\n")
    print(f"wrote fixtures under {ROOT}: {len(cases)} malformed cases")


if __name__ == "__main__":
    main()

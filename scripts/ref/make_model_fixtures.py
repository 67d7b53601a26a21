#!/usr/bin/env python3
"""Reference outputs of Hugging Face transformers for the tiny synthetic models.

For each tiny preset this runs `build/release/enclave synth --seed 1`, checks the written files
with independent readers (the `safetensors` and `gguf` packages: tensor names, shapes, the F32
GGUF values against the safetensors ones, llama's Q/K row permutation), loads the HF directory
with transformers (float32, eager attention) and writes tests/fixtures/models/<arch>-<preset>.ref:

  8 bytes  magic "ENCREF01"
  u32      version = 1                      (all integers little-endian)
  u32      L = length of the JSON header
  L bytes  JSON header (UTF-8)
  ...      raw little-endian float32 arrays; header "tensors" gives name, shape and byte offset
           from the start of this data section.

Tensors: `logits` [T, V] for the prompt's input ids, and `hidden.0` ... `hidden.L` [T, H] as
transformers' output_hidden_states returns them (hidden.0 = embeddings, hidden.L is *after* the
final RMSNorm, the others are residual-stream outputs of each layer). deepseek2 (MoE) models add,
for every MoE layer l, `experts.l` [T, k] (the routed experts each token chose, ascending, as
float32) and `expert_weights.l` [T, k] (their weights in that order), taken from the router.

Perplexity rule (enclave perplexity implements the same): the text's ids (no BOS) are cut into
consecutive non-overlapping windows of ctx tokens, remainder dropped; each window runs from
position 0 without BOS; positions j = ctx/2 .. ctx-2 score id[j+1] with -log softmax(logits[j]),
in float64 from float32 logits; nll_mean over all scored positions, perplexity = exp(nll_mean).

Usage (after building build/release/enclave; needs `scripts/setup.sh --ref`):
  .venv/bin/python scripts/ref/make_model_fixtures.py               # every tiny preset
  .venv/bin/python scripts/ref/make_model_fixtures.py --preset llama/tiny
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "tests" / "fixtures" / "models"
ENCLAVE = ROOT / "build" / "release" / "enclave"
PRESETS = [("llama", "tiny"), ("llama", "tiny-rope-linear"), ("llama", "tiny-rope-llama3"),
           ("qwen2", "tiny"), ("qwen2", "tiny-tied"),
           ("deepseek2", "tiny-v2-lite"), ("deepseek2", "tiny-v2"), ("deepseek2", "tiny-v3"),
           ("deepseek2", "tiny-v3-fp8")]
SEED = 1
PROMPT = "The answer is 42. 深度求索 <think> def f(x): return x"
PERPLEXITY_TEXT = "tests/fixtures/models/perplexity.txt"
CTX = 64
GREEDY_TOKENS = 32
MAGIC = b"ENCREF01"
VERSION = 1


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def permute_like_converter(w: np.ndarray, n_head: int) -> np.ndarray:
    # llama.cpp convert_hf_to_gguf.py LlamaModel.permute (read, not copied, to learn the layout).
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def deepseek_tensor_names(config: dict) -> set[str]:
    """The checkpoint tensor names of a DeepSeek-V2/V3 model (DEEPSEEK_SPEC.md §2.8)."""
    names = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}
    n_layers = config["num_hidden_layers"]
    for l in range(n_layers, n_layers + config.get("num_nextn_predict_layers", 0)):  # V3's MTP module
        b = f"model.layers.{l}."
        names |= {b + n for n in ["enorm.weight", "hnorm.weight", "eh_proj.weight", "shared_head.norm.weight",
                                  "shared_head.head.weight", "embed_tokens.weight"]}
    for l in range(n_layers + config.get("num_nextn_predict_layers", 0)):
        b = f"model.layers.{l}."
        names |= {b + "input_layernorm.weight", b + "post_attention_layernorm.weight"}
        if config["q_lora_rank"]:
            names |= {b + "self_attn.q_a_proj.weight", b + "self_attn.q_a_layernorm.weight",
                      b + "self_attn.q_b_proj.weight"}
        else:
            names.add(b + "self_attn.q_proj.weight")
        names |= {b + f"self_attn.{n}.weight" for n in ["kv_a_proj_with_mqa", "kv_a_layernorm", "kv_b_proj", "o_proj"]}
        if l < config["first_k_dense_replace"]:
            names |= {b + f"mlp.{n}.weight" for n in ["gate_proj", "up_proj", "down_proj"]}
            continue
        names.add(b + "mlp.gate.weight")
        if config["topk_method"] == "noaux_tc":
            names.add(b + "mlp.gate.e_score_correction_bias")
        for e in range(config["n_routed_experts"]):
            names |= {b + f"mlp.experts.{e}.{n}.weight" for n in ["gate_proj", "up_proj", "down_proj"]}
        names |= {b + f"mlp.shared_experts.{n}.weight" for n in ["gate_proj", "up_proj", "down_proj"]}
    return names


def check_deepseek_gguf(model_dir: Path, config: dict, st: dict) -> None:
    """The F32 GGUF in llama.cpp's deepseek2 layout: names from gguf-py's own table, kv_b_proj split
    as convert_hf_to_gguf.py's DeepseekV2Model does (k_b transposed), experts stacked."""
    import gguf

    allowed = {gguf.TENSOR_NAMES[t] for t in gguf.MODEL_TENSORS[gguf.MODEL_ARCH.DEEPSEEK2]}
    r = gguf.GGUFReader(str(model_dir / "gguf" / "model-f32.gguf"))
    assert r.fields["general.architecture"].contents() == "deepseek2"
    t = {x.name: np.asarray(x.data) for x in r.tensors}
    for name in t:
        base = name.rsplit(".", 1)[0]
        generic = ".".join(["blk.{bid}"] + base.split(".")[2:]) if base.startswith("blk.") else base
        assert generic in allowed, f"{name} is not a deepseek2 tensor name gguf-py knows"
    heads, nope, vh = config["num_attention_heads"], config["qk_nope_head_dim"], config["v_head_dim"]
    for l in range(config["num_hidden_layers"]):
        kv_b = st[f"model.layers.{l}.self_attn.kv_b_proj.weight"].reshape(heads, nope + vh, -1)
        assert np.array_equal(t[f"blk.{l}.attn_k_b.weight"], kv_b[:, :nope, :].transpose(0, 2, 1))
        assert np.array_equal(t[f"blk.{l}.attn_v_b.weight"], kv_b[:, nope:, :])
        if l >= config["first_k_dense_replace"]:
            for w in ["gate", "up", "down"]:
                stacked = np.stack([st[f"model.layers.{l}.mlp.experts.{e}.{w}_proj.weight"]
                                    for e in range(config["n_routed_experts"])])
                assert np.array_equal(t[f"blk.{l}.ffn_{w}_exps.weight"], stacked), f"blk.{l}.ffn_{w}_exps"
            assert np.array_equal(t[f"blk.{l}.ffn_gate_inp.weight"], st[f"model.layers.{l}.mlp.gate.weight"])


def load_dequantized(model_dir: Path, config: dict) -> dict:
    """The checkpoint's tensors as float32 numpy arrays; FP8 weights (DeepSeek-V3 block scales) are
    decoded by torch's own float8_e4m3fn and multiplied by their 128x128 scale_inv blocks, and the
    scale tensors dropped."""
    import torch
    from safetensors.torch import load_file

    raw = load_file(str(model_dir / "model.safetensors"))
    out = {}
    for name, t in raw.items():
        if name.endswith("_scale_inv"):
            continue
        if t.dtype == torch.float8_e4m3fn:
            scale = raw[name + "_scale_inv"].float()
            full = scale.repeat_interleave(128, 0).repeat_interleave(128, 1)[:t.shape[0], :t.shape[1]]
            out[name] = (t.float() * full).numpy()
        else:
            out[name] = t.float().numpy() if t.dtype != torch.float32 else t.numpy()
    return out


def dequantized_copy(model_dir: Path, config: dict, dst: Path) -> Path:
    """An F32 copy of an FP8 checkpoint for transformers (the reference on the dequantized weights)."""
    import shutil
    import torch
    from safetensors.torch import save_file

    dst.mkdir(parents=True, exist_ok=True)
    weights = {k: torch.from_numpy(v.copy()) for k, v in load_dequantized(model_dir, config).items()}
    save_file(weights, str(dst / "model.safetensors"), metadata={"format": "pt"})
    plain = {k: v for k, v in config.items() if k != "quantization_config"}
    plain["torch_dtype"] = "float32"
    (dst / "config.json").write_text(json.dumps(plain, indent=2))
    for f in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]:
        shutil.copy(model_dir / f, dst / f)
    return dst


def check_files(model_dir: Path, config: dict) -> None:
    """Independent readers agree with what synth meant to write."""
    import gguf
    from safetensors.numpy import load_file

    if config["model_type"] in ("deepseek_v2", "deepseek_v3"):
        from safetensors import safe_open
        with safe_open(str(model_dir / "model.safetensors"), "pt") as f:
            names = set(f.keys())
        expected = deepseek_tensor_names(config)
        if config.get("quantization_config"):
            # every linear weight of attention and the MLPs (spec §3), not norms or the router
            linear = {n for n in expected if n.startswith("model.layers.") and
                      (".self_attn." in n or ".mlp." in n) and "_proj" in n and n.endswith(".weight")}
            expected |= {n + "_scale_inv" for n in linear}
        assert names == expected, f"safetensors names differ: {names ^ expected}"
        st = load_dequantized(model_dir, config)
        check_deepseek_gguf(model_dir, config, st)
        return
    st = load_file(str(model_dir / "model.safetensors"))
    arch = config["model_type"]
    n_layers = config["num_hidden_layers"]
    expected = {"model.embed_tokens.weight", "model.norm.weight"}
    if not config["tie_word_embeddings"]:
        expected.add("lm_head.weight")
    for l in range(n_layers):
        for s in ["input_layernorm.weight", "post_attention_layernorm.weight", "self_attn.q_proj.weight",
                  "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
                  "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"]:
            expected.add(f"model.layers.{l}.{s}")
        if arch == "qwen2":
            for s in ["q_proj.bias", "k_proj.bias", "v_proj.bias"]:
                expected.add(f"model.layers.{l}.self_attn.{s}")
    assert set(st) == expected, f"safetensors names differ: {set(st) ^ expected}"

    want_types = {"f32": "F32", "f16": "F16", "q8_0": "Q8_0", "q4_k": "Q4_K"}
    for variant, main in want_types.items():
        r = gguf.GGUFReader(str(model_dir / "gguf" / f"model-{variant}.gguf"))
        names = {t.name: t for t in r.tensors}
        assert r.fields["general.architecture"].contents() == arch
        assert ("output.weight" in names) == (not config["tie_word_embeddings"])
        assert ("rope_freqs.weight" in names) == ((config.get("rope_scaling") or {}).get("rope_type") == "llama3")
        for t in r.tensors:
            if len(t.shape) == 1:
                assert t.tensor_type.name == "F32", f"{variant}: {t.name} is {t.tensor_type.name}"
        q = names["blk.0.attn_q.weight"]
        assert q.tensor_type.name == main, f"{variant}: attn_q is {q.tensor_type.name}"
        if variant == "q4_k":
            out = names.get("output.weight") or names["token_embd.weight"]
            assert out.tensor_type.name == "Q6_K"
        if variant == "f32":
            emb = np.asarray(names["token_embd.weight"].data).reshape(st["model.embed_tokens.weight"].shape)
            assert np.array_equal(emb, st["model.embed_tokens.weight"])
            for l in range(n_layers):
                for hf, gg, heads in [("q_proj", "attn_q", config["num_attention_heads"]),
                                      ("k_proj", "attn_k", config["num_key_value_heads"])]:
                    w = st[f"model.layers.{l}.self_attn.{hf}.weight"]
                    g = np.asarray(names[f"blk.{l}.{gg}.weight"].data).reshape(w.shape)
                    want = permute_like_converter(w, heads) if arch == "llama" else w
                    assert np.array_equal(g, want), f"blk.{l}.{gg}: rows not in the converter's order"


def perplexity(model, torch, ids: list[int]) -> dict:
    windows = len(ids) // CTX
    total, count = 0.0, 0
    for w in range(windows):
        chunk = torch.tensor([ids[w * CTX:(w + 1) * CTX]])
        with torch.no_grad():
            logits = model(chunk).logits[0].float().numpy().astype(np.float64)
        for j in range(CTX // 2, CTX - 1):
            row = logits[j]
            m = row.max()
            lse = m + math.log(np.exp(row - m).sum())
            total += lse - row[ids[w * CTX + j + 1]]
            count += 1
    nll = total / count
    return {"text_file": PERPLEXITY_TEXT, "ctx": CTX, "token_ids": ids, "windows": windows,
            "scored_positions": count, "nll_mean": nll, "perplexity": math.exp(nll)}


def make_one(arch: str, preset: str, tmp: Path) -> Path:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = tmp / f"{arch}-{preset}"
    subprocess.run([str(ENCLAVE), "synth", "--arch", arch, "--preset", preset, "--seed", str(SEED),
                    "--out", str(model_dir)], check=True)
    config = json.loads((model_dir / "config.json").read_text())
    check_files(model_dir, config)

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    input_ids = tok(PROMPT)["input_ids"]
    assert input_ids[0] == config["bos_token_id"], "the HF tokenizer did not add BOS"
    text_ids = tok((ROOT / PERPLEXITY_TEXT).read_text(encoding="utf-8"), add_special_tokens=False)["input_ids"]

    torch.manual_seed(0)
    hf_dir = model_dir
    if config.get("quantization_config"):
        hf_dir = dequantized_copy(model_dir, config, tmp / f"{arch}-{preset}-dequantized")
    model = AutoModelForCausalLM.from_pretrained(str(hf_dir), dtype=torch.float32, attn_implementation="eager")
    model.eval()
    x = torch.tensor([input_ids])
    routes = {}  # MoE layer -> (indices [T, k], weights [T, k]) from the router
    hooks = []
    for l, layer in enumerate(model.model.layers):
        gate = getattr(layer.mlp, "gate", None)
        if gate is not None and hasattr(gate, "top_k"):
            def capture(module, inputs, output, l=l):
                _, weights, indices = output
                order = torch.argsort(indices, dim=-1)
                routes[l] = (torch.gather(indices, -1, order).float().numpy(),
                             torch.gather(weights, -1, order).float().numpy())
            hooks.append(gate.register_forward_hook(capture))
    with torch.no_grad():
        out = model(x, output_hidden_states=True)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        gen = model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=GREEDY_TOKENS,
                             min_new_tokens=GREEDY_TOKENS, pad_token_id=config["eos_token_id"])
    greedy = gen[0, len(input_ids):].tolist()
    assert len(greedy) == GREEDY_TOKENS

    arrays = [("logits", out.logits[0].float().numpy())]
    for i, h in enumerate(out.hidden_states):
        arrays.append((f"hidden.{i}", h[0].float().numpy()))
    for l in sorted(routes):
        arrays.append((f"experts.{l}", routes[l][0]))
        arrays.append((f"expert_weights.{l}", routes[l][1]))
    tensors, offset = [], 0
    for name, a in arrays:
        tensors.append({"name": name, "shape": list(a.shape), "offset": offset})
        offset += a.size * 4

    rel = f"tests/fixtures/models/{arch}-{preset}.ref"
    header = {
        "preset": preset, "arch": arch, "seed": SEED,
        "config_sha256": sha256_file(model_dir / "config.json"),
        "weights_sha256": sha256_file(model_dir / "model.safetensors"),
        "transformers_version": transformers.__version__, "torch_version": torch.__version__,
        "regenerate": f"cmake --build --preset release --target enclave && "
                      f".venv/bin/python scripts/ref/make_model_fixtures.py --preset {arch}/{preset}",
        "prompt": PROMPT, "input_ids": input_ids, "greedy_ids": greedy,
        "perplexity": perplexity(model, torch, text_ids),
        "tensors": tensors,
    }
    hj = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path = ROOT / rel
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<II", VERSION, len(hj)) + hj)
        for _, a in arrays:
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
    print(f"{rel}: {path.stat().st_size} bytes, T={len(input_ids)}, "
          f"ppl={header['perplexity']['perplexity']:.6f} over {header['perplexity']['windows']} windows")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", action="append", help="ARCH/PRESET (repeatable); default: all tiny presets")
    args = ap.parse_args()
    todo = PRESETS if not args.preset else [tuple(p.split("/", 1)) for p in args.preset]
    for p in todo:
        if p not in PRESETS:
            ap.error(f"unknown preset {'/'.join(p)}; valid: {', '.join(a + '/' + b for a, b in PRESETS)}")
    if not ENCLAVE.exists():
        sys.exit(f"{ENCLAVE} not found: build it first (cmake --preset release && cmake --build --preset release)")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for arch, preset in todo:
            make_one(arch, preset, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())

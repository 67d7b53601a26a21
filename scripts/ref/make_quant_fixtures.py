#!/usr/bin/env python3
"""Reference data for the scalar kernels and weight quantizers (tests/fixtures/quant/).

dequant_reference.bin
    For every type the `gguf` package can dequantize and Enclave loads (F32, F16, BF16, Q4_0, Q4_1, Q5_0,
    Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K): random block bytes whose fp16 fields are forced finite (the
    whole finite fp16 range: subnormals, zero, negative and the largest values included), followed by
    what gguf.quants.dequantize (numpy, f32) makes of them. Format in tests/fixtures/quant/README.md.
    Needs only numpy and gguf==0.19.0.

quant_reference.gguf
    Quantizer inputs ("input.<dist>", F32 [512, 64]) of several seeded distributions, and for every type
    the weight quantizers produce: the quantize->dequantize RMSE of llama.cpp's ggml_quantize_chunk
    (no importance matrix; "ref.<TYPE>.<dist>.rmse_llamacpp"), of the gguf package's numpy quantizer
    where it has one ("...rmse_gguf"), and llama.cpp's quantized bytes ("llamacpp.<TYPE>.<dist>").
    Needs libggml-base.so from llama-cpp-python==0.3.36 (scripts/requirements-peer.txt), loaded with
    ctypes: set LLAMA_CPP_LIB to the folder holding it, or run a Python that has llama_cpp installed.

Run (both files; deterministic, seeded):
    LLAMA_CPP_LIB=<venv>/lib/python3.11/site-packages/llama_cpp/lib .venv/bin/python scripts/ref/make_quant_fixtures.py
Only dequant_reference.bin:
    .venv/bin/python scripts/ref/make_quant_fixtures.py --dequant-only
"""
import argparse
import ctypes
import glob
import importlib.util
import os
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "quant")

# --- dequant_reference.bin -------------------------------------------------------------------------

DEQUANT_SEED = 20261123
DEQUANT_MAGIC = b"EQDQ"
DEQUANT_VERSION = 1
DEQUANT_ELEMS = 2048  # per type: 8 K-quant super-blocks, 64 legacy blocks

# Byte offsets of the fp16 fields inside each block (docs/quant-formats.md).
FP16_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}
DEQUANT_TYPES = [Q.F32, Q.F16, Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K,
                 Q.Q6_K]
# fp16 bit patterns every scale field takes in some block: +-0, smallest subnormal, largest finite.
SPECIAL_FP16 = [0x0000, 0x8000, 0x0001, 0x8001, 0x7BFF, 0xFBFF, 0x3C00]


def finite_fp16_bits(rng, n):
    bits = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
    inf_nan = (bits & 0x7C00) == 0x7C00
    bits[inf_nan] &= 0xBFFF  # clear the top exponent bit: finite, same sign
    return bits


def random_type_bytes(rng, qtype):
    block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    n_blocks = DEQUANT_ELEMS // block_elems
    if qtype == Q.F32:
        bits = rng.integers(0, 1 << 32, size=n_blocks, dtype=np.uint64).astype(np.uint32)
        bits[(bits & 0x7F800000) == 0x7F800000] &= 0xBFFFFFFF
        return bits.view(np.uint8)
    if qtype in (Q.F16, Q.BF16):
        bits = rng.integers(0, 1 << 16, size=n_blocks, dtype=np.uint32).astype(np.uint16)
        exp_mask = 0x7C00 if qtype == Q.F16 else 0x7F80
        bits[(bits & exp_mask) == exp_mask] &= 0xBFFF
        bits[:len(SPECIAL_FP16)] = SPECIAL_FP16 if qtype == Q.F16 else [0x0000, 0x8000, 0x0001, 0x8001, 0x7F7F,
                                                                         0xFF7F, 0x3F80]
        return bits.view(np.uint8)
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    for off in FP16_FIELDS[qtype]:
        bits = finite_fp16_bits(rng, n_blocks)
        k = min(len(SPECIAL_FP16), n_blocks)
        bits[:k] = np.roll(np.array(SPECIAL_FP16, dtype=np.uint16), off)[:k]
        raw[:, off:off + 2] = bits.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(-1)


def dequantize(raw, qtype):
    if qtype == Q.F32:
        return raw.view(np.float32).copy()
    if qtype == Q.F16:
        return raw.view(np.float16).astype(np.float32)
    return gguf.quants.dequantize(raw, qtype).astype(np.float32, copy=False).reshape(-1)


def write_dequant_reference(path):
    rng = np.random.default_rng(DEQUANT_SEED)
    with open(path, "wb") as f:
        f.write(DEQUANT_MAGIC + struct.pack("<II", DEQUANT_VERSION, len(DEQUANT_TYPES)))
        for qtype in DEQUANT_TYPES:
            raw = random_type_bytes(rng, qtype)
            values = dequantize(raw, qtype)
            assert values.dtype == np.float32 and values.size == DEQUANT_ELEMS, (qtype, values.dtype, values.size)
            f.write(struct.pack("<III", int(qtype), DEQUANT_ELEMS, raw.size))
            f.write(raw.tobytes())
            f.write(values.astype("<f4").tobytes())
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


# --- quant_reference.gguf --------------------------------------------------------------------------

QUANT_SEED = 7
ROWS, COLS = 64, 512
QUANT_TYPES = [Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q4_K, Q.Q5_K, Q.Q6_K]
NUMPY_QUANT_TYPES = {Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1}


def quant_inputs(rng):
    d = {}
    # Typical transformer weights.
    d["normal"] = rng.standard_normal((ROWS, COLS)) * 0.02
    # Heavy tails.
    d["student_t3"] = rng.standard_t(3, (ROWS, COLS)) * 0.02
    d["uniform"] = rng.uniform(-1, 1, (ROWS, COLS))
    # A few large values per row among small ones.
    out = rng.standard_normal((ROWS, COLS)) * 0.02
    idx = rng.integers(0, COLS, (ROWS, 4))
    for r in range(ROWS):
        out[r, idx[r]] = rng.choice([-1, 1], 4) * rng.uniform(0.5, 1.0, 4)
    d["outliers"] = out
    # Offset data: all positive, exercises the mins of the asymmetric types.
    d["positive"] = np.abs(rng.standard_normal((ROWS, COLS))) + 0.5
    # Row scales spread over 1e-4 .. 1e2 (fp16 scale fields near their subnormal range at the low end).
    d["scales"] = rng.standard_normal((ROWS, COLS)) * np.logspace(-4, 2, ROWS)[:, None]
    # Degenerate rows among normal ones: all zero, constant, half zero, one spike, sign-alternating constant.
    mixed = rng.standard_normal((ROWS, COLS)) * 0.02
    mixed[0] = 0.0
    mixed[1] = 0.37
    mixed[2, :256] = 0.0
    mixed[3] = 0.0
    mixed[3, 100] = -2.0
    mixed[4] = np.where(np.arange(COLS) % 2 == 0, 0.25, -0.25)
    mixed[5] = -1.5
    d["special_rows"] = mixed
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in d.items()}


def load_ggml():
    dirs = [os.environ.get("LLAMA_CPP_LIB", "")]
    spec = importlib.util.find_spec("llama_cpp")
    if spec and spec.origin:
        dirs.append(os.path.join(os.path.dirname(spec.origin), "lib"))
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "libggml-base.so*"))):
            lib = ctypes.CDLL(path)
            lib.ggml_quantize_chunk.restype = ctypes.c_size_t
            lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                                ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
            return lib
    sys.exit("libggml-base.so not found: set LLAMA_CPP_LIB to llama-cpp-python==0.3.36's llama_cpp/lib folder "
             "(or pass --dequant-only)")


def rmse(a, b):
    a = a.reshape(-1).astype(np.float64)
    b = b.reshape(-1).astype(np.float64)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def write_quant_reference(path):
    rng = np.random.default_rng(QUANT_SEED)
    data = quant_inputs(rng)
    ggml = load_ggml()
    w = gguf.GGUFWriter(path, arch="quant-reference")
    w.add_string("ref.llama_cpp_python", "0.3.36")
    w.add_string("ref.gguf", gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0")
    w.add_string("ref.numpy", np.__version__)
    for name, x in data.items():
        w.add_tensor(f"input.{name}", x)
    for qtype in QUANT_TYPES:
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        row_bytes = COLS // block_elems * block_bytes
        for name, x in data.items():
            buf = np.zeros((ROWS, row_bytes), dtype=np.uint8)
            n = ggml.ggml_quantize_chunk(int(qtype), x.ctypes.data, buf.ctypes.data, 0, ROWS, COLS, None)
            assert n == buf.nbytes, (qtype, n, buf.nbytes)
            err = rmse(gguf.quants.dequantize(buf, qtype), x)
            w.add_float64(f"ref.{qtype.name}.{name}.rmse_llamacpp", err)
            w.add_tensor(f"llamacpp.{qtype.name}.{name}", buf, raw_dtype=qtype)
            line = f"{qtype.name:5s} {name:12s} llama.cpp rmse {err:.6g}"
            if qtype in NUMPY_QUANT_TYPES:
                q = gguf.quants.quantize(x, qtype)
                gerr = rmse(gguf.quants.dequantize(q, qtype), x)
                w.add_float64(f"ref.{qtype.name}.{name}.rmse_gguf", gerr)
                line += f"  gguf numpy rmse {gerr:.6g}"
            print(line)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dequant-only", action="store_true", help="write only dequant_reference.bin")
    args = ap.parse_args()
    os.makedirs(OUT_DIR, exist_ok=True)
    write_dequant_reference(os.path.join(OUT_DIR, "dequant_reference.bin"))
    if not args.dequant_only:
        write_quant_reference(os.path.join(OUT_DIR, "quant_reference.gguf"))


if __name__ == "__main__":
    main()

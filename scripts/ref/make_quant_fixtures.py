#!/usr/bin/env python3
"""Reference data for the weight quantizers (tests/fixtures/quant/quant_reference.gguf).

For seeded inputs of several distributions, records the quantize->dequantize RMSE of the reference
quantizers on the same data:
  - llama.cpp's ggml_quantize_chunk (no importance matrix), called through ctypes in the libggml-base.so
    that llama-cpp-python==0.3.36 builds (scripts/requirements-peer.txt), for every type we quantize;
  - the `gguf` package's numpy quantizers (gguf==0.19.0) where it has one (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1).
Dequantization for the RMSE uses gguf.quants.dequantize. The file also holds the inputs (F32 tensors
"input.<dist>") and llama.cpp's quantized bytes ("llamacpp.<TYPE>.<dist>").

Run: scripts/setup.sh --no-build --peer && .venv/bin/python scripts/ref/make_quant_fixtures.py
     (or any Python with numpy, gguf==0.19.0 and llama-cpp-python==0.3.36; LLAMA_CPP_LIB may point at
     the directory holding libggml-base.so)
"""
import ctypes
import glob
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "quant", "quant_reference.gguf")
SEED = 7
ROWS, COLS = 16, 512
TYPES = [Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q4_K, Q.Q5_K, Q.Q6_K]
NUMPY_TYPES = {Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1}


def inputs(rng):
    d = {}
    d["normal"] = rng.standard_normal((ROWS, COLS)) * 0.02
    d["student_t3"] = rng.standard_t(3, (ROWS, COLS)) * 0.02
    d["uniform"] = rng.uniform(-1, 1, (ROWS, COLS))
    out = rng.standard_normal((ROWS, COLS)) * 0.02
    idx = rng.integers(0, COLS, (ROWS, 4))
    for r in range(ROWS):
        out[r, idx[r]] = rng.choice([-1, 1], 4) * rng.uniform(0.5, 1.0, 4)
    d["outliers"] = out
    d["positive"] = np.abs(rng.standard_normal((ROWS, COLS))) + 0.5
    mixed = rng.standard_normal((ROWS, COLS)) * 0.02
    mixed[0] = 0.0
    mixed[1] = 0.37
    mixed[2, :256] = 0.0
    d["special_rows"] = mixed
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in d.items()}


def load_ggml():
    dirs = [os.environ.get("LLAMA_CPP_LIB", "")]
    import importlib.util
    spec = importlib.util.find_spec("llama_cpp")
    if spec and spec.origin:
        dirs.append(os.path.join(os.path.dirname(spec.origin), "lib"))
    for d in dirs:
        for path in glob.glob(os.path.join(d, "libggml-base.so*")):
            lib = ctypes.CDLL(path)
            lib.ggml_quantize_chunk.restype = ctypes.c_size_t
            lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                                ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
            return lib
    sys.exit("libggml-base.so not found: install llama-cpp-python==0.3.36 or set LLAMA_CPP_LIB")


def rmse(a, b):
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def main():
    rng = np.random.default_rng(SEED)
    data = inputs(rng)
    ggml = load_ggml()
    w = gguf.GGUFWriter(OUT, arch="quant-reference")
    w.add_string("ref.llama_cpp_python", "0.3.36")
    w.add_string("ref.gguf", "0.19.0")
    for name, x in data.items():
        w.add_tensor(f"input.{name}", x)
    for qtype in TYPES:
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        row_bytes = COLS // block_elems * block_bytes
        for name, x in data.items():
            buf = np.zeros((ROWS, row_bytes), dtype=np.uint8)
            n = ggml.ggml_quantize_chunk(int(qtype), x.ctypes.data, buf.ctypes.data, 0, ROWS, COLS, None)
            assert n == buf.nbytes, (qtype, n, buf.nbytes)
            deq = gguf.quants.dequantize(buf, qtype)
            w.add_float64(f"ref.{qtype.name}.{name}.rmse_llamacpp", rmse(deq, x))
            w.add_tensor(f"llamacpp.{qtype.name}.{name}", buf, raw_dtype=qtype)
            if qtype in NUMPY_TYPES:
                q = gguf.quants.quantize(x, qtype)
                w.add_float64(f"ref.{qtype.name}.{name}.rmse_gguf", rmse(gguf.quants.dequantize(q, qtype), x))
            print(f"{qtype.name:5s} {name:12s} llama.cpp rmse {rmse(deq, x):.6g}")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a copy of a GGUF file with every 2-D weight stored in another type (f32, f16 or q8_0),
using the `gguf` package's own dequantizers and quantizers (an implementation independent of ours).
Metadata and 1-D tensors are copied unchanged.

  .venv/bin/python scripts/ref/requantize_gguf.py IN.gguf OUT.gguf --type f16

What it is for: measuring what a quantization costs on a *trained* model when only a quantized file
of it is available (scripts/test-real-models.sh: SmolLM2's Q4_1 file -> F16 and -> Q8_0, then
`enclave perplexity -m Q8_0 --kl-base F16`). The F16 copy holds the trained weights exactly (Q4_1
values are exact in f16 up to rounding of the block scale products), so Q8_0 against it is Q8_0's
own rounding on a real network.
"""
import argparse
import sys

import numpy as np
from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType, GGUFValueType
from gguf.quants import dequantize, quantize

TYPES = {"f32": GGMLQuantizationType.F32, "f16": GGMLQuantizationType.F16, "q8_0": GGMLQuantizationType.Q8_0}


def copy_metadata(reader, writer):
    for field in reader.fields.values():
        name = field.name
        if name.startswith("GGUF.") or name == "general.architecture":
            continue  # written by GGUFWriter itself
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY:
            sub = field.types[-1]
            if sub == GGUFValueType.STRING:
                value = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
            else:
                value = [field.parts[i].tolist()[0] for i in field.data]
            writer.add_key_value(name, value, vtype, sub_type=sub)
        elif vtype == GGUFValueType.STRING:
            writer.add_key_value(name, bytes(field.parts[field.data[0]]).decode("utf-8"), vtype)
        else:
            writer.add_key_value(name, field.parts[field.data[0]].tolist()[0], vtype)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--type", required=True, choices=sorted(TYPES))
    args = ap.parse_args()
    target = TYPES[args.type]
    reader = GGUFReader(args.input)
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode("utf-8")
    writer = GGUFWriter(args.output, arch)
    copy_metadata(reader, writer)
    for t in reader.tensors:
        shape = [int(x) for x in reversed(t.shape.tolist())]  # numpy order: rows first
        if len(shape) == 2 and t.tensor_type != target:
            values = dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
            if target == GGMLQuantizationType.F32:
                data = values
            elif target == GGMLQuantizationType.F16:
                data = values.astype(np.float16)
            else:
                data = quantize(values, target)
            writer.add_tensor(t.name, data, raw_dtype=target)
        else:
            # The reader's array already has the stored shape (bytes per row for block types).
            writer.add_tensor(t.name, np.array(t.data), raw_dtype=t.tensor_type)
        print(f"{t.name}: {t.tensor_type.name} -> {target.name if len(shape) == 2 else t.tensor_type.name}",
              file=sys.stderr)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()

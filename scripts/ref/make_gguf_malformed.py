#!/usr/bin/env python3
"""Writes the malformed GGUF corpus (tests/fixtures/gguf/malformed/) with a hand-rolled byte builder
that follows the GGUF v3 layout (docs/formats-gguf.md) and breaks one rule per file. Each file name says
what is wrong; tests/fixtures/gguf/malformed/EXPECTED.tsv maps it to a word the error must contain.
Needs only the Python standard library.

Run: python3 scripts/ref/make_gguf_malformed.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "gguf", "malformed")

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)


def s(text):
    b = text if isinstance(text, bytes) else text.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return s(key) + struct.pack("<I", vtype) + payload


def tinfo(name, dims, ttype, offset):
    return s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + \
        struct.pack("<II", ttype, 0)[:4] + struct.pack("<Q", offset)


def build(kvs, tensors, data, version=3, magic=b"GGUF", n_tensors=None, n_kv=None, align=32):
    head = magic + struct.pack("<I", version)
    head += struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors,
                        len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    pad = (-len(body)) % align
    return body + b"\0" * pad + data


ARCH = kv("general.architecture", STR, s("llama"))


def good_parts():
    # Two F32 tensors of 8 elements (32 bytes each) at offsets 0 and 32.
    tensors = [tinfo("a.weight", [8], 0, 0), tinfo("b.weight", [8], 0, 32)]
    data = struct.pack("<8f", *range(8)) + struct.pack("<8f", *range(8, 16))
    return [ARCH, kv("x.count", U32, struct.pack("<I", 7))], tensors, data


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}
    kvs, tensors, data = good_parts()
    good = build(kvs, tensors, data)
    with open(os.path.join(OUT, "..", "minimal_valid.gguf"), "wb") as f:
        f.write(good)
    with open(os.path.join(OUT, "..", "minimal_v2.gguf"), "wb") as f:  # GGUF v2 has the same layout
        f.write(build(kvs, tensors, data, version=2))

    header_len = 24
    kv_end = header_len + len(b"".join(kvs))
    ti_end = kv_end + len(b"".join(tensors))
    # Truncated inside every section.
    cases["truncated_magic"] = (good[:3], "too small")
    cases["truncated_header"] = (good[:12], "truncated")
    cases["truncated_kv_key"] = (good[:header_len + 10], "metadata entries")
    cases["truncated_inside_key"] = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("general.architecture")[:18],
                                     "truncated")
    cases["truncated_kv_value"] = (good[:kv_end - 2], "truncated")
    cases["truncated_tensor_info"] = (good[:ti_end - 5], "truncated")
    cases["truncated_padding"] = (good[:ti_end + 1], "truncated")
    cases["truncated_data"] = (good[:len(good) - 10], "past end of file")
    cases["empty"] = (b"", "too small")
    cases["wrong_magic"] = (b"GGUX" + good[4:], "magic")
    cases["version_1"] = (build(kvs, tensors, data, version=1), "version 1")
    cases["version_99"] = (build(kvs, tensors, data, version=99), "version 99")
    cases["lying_tensor_count"] = (build(kvs, tensors, data, n_tensors=1 << 60), "tensors")
    cases["lying_kv_count"] = (build(kvs, tensors, data, n_kv=1 << 62), "metadata entries")
    # Lying lengths.
    cases["lying_string_length"] = (build([ARCH, s("k") + struct.pack("<I", STR) + struct.pack("<Q", 1 << 40)],
                                          tensors, data), "length")
    cases["lying_array_length"] = (build([ARCH, kv("k", ARR, struct.pack("<IQ", U32, 1 << 50))], tensors, data),
                                   "array claims")
    cases["deep_nested_array"] = (build([ARCH, kv("k", ARR, struct.pack("<IQ", ARR, 1) +
                                                   struct.pack("<IQ", ARR, 1) + struct.pack("<IQ", ARR, 1) +
                                                   struct.pack("<IQ", ARR, 1) + struct.pack("<IQ", U8, 1) + b"\1")],
                                         tensors, data), "nested")
    cases["unknown_value_type"] = (build([ARCH, kv("k", 13, b"\0" * 8)], tensors, data), "unknown value type")
    cases["unknown_array_elem_type"] = (build([ARCH, kv("k", ARR, struct.pack("<IQ", 77, 1) + b"\0")], tensors, data),
                                        "unknown array element type")
    cases["bad_bool"] = (build([ARCH, kv("k", BOOL, b"\x05")], tensors, data), "bool")
    cases["bad_utf8_key"] = (build([ARCH, kv(b"bad\xff\xfekey", U8, b"\1")], tensors, data), "UTF-8")
    cases["duplicate_key"] = (build([ARCH, kv("k", U8, b"\1"), kv("k", U8, b"\2")], tensors, data), "more than once")
    cases["bad_alignment_value"] = (build([ARCH, kv("general.alignment", U32, struct.pack("<I", 24))], tensors, data),
                                    "power of two")
    cases["bad_alignment_type"] = (build([ARCH, kv("general.alignment", U64, struct.pack("<Q", 32))], tensors, data),
                                   "general.alignment")
    # Tensor problems.
    cases["unknown_tensor_type"] = (build(kvs, [tinfo("a.weight", [8], 16, 0), tensors[1]], data), "IQ2_XXS")
    cases["unknown_tensor_type_id"] = (build(kvs, [tinfo("a.weight", [8], 999, 0), tensors[1]], data), "type#999")
    cases["n_dims_0"] = (build(kvs, [tinfo("a.weight", [], 0, 0), tensors[1]], data), "dimensions")
    cases["n_dims_5"] = (build(kvs, [tinfo("a.weight", [1, 1, 1, 1, 8], 0, 0), tensors[1]], data), "dimensions")
    cases["zero_dim"] = (build(kvs, [tinfo("a.weight", [8, 0], 0, 0), tensors[1]], data), "zero dimension")
    cases["huge_dims"] = (build(kvs, [tinfo("a.weight", [1 << 40, 1 << 20], 0, 0), tensors[1]], data), "past end")
    cases["overflowing_product"] = (build(kvs, [tinfo("a.weight", [1 << 32, 1 << 32, 1 << 8], 0, 0), tensors[1]], data),
                                    "overflows")
    cases["overflowing_bytes"] = (build(kvs, [tinfo("a.weight", [1 << 31, 1 << 31], 0, 0), tensors[1]], data),
                                  "overflow")
    cases["block_size_mismatch"] = (build(kvs, [tinfo("a.weight", [16], 8, 0), tensors[1]], data), "block size")
    cases["misaligned_offset"] = (build(kvs, [tensors[0], tinfo("b.weight", [8], 0, 36)], data + b"\0" * 8),
                                  "alignment")
    cases["overlapping_tensors"] = (build(kvs, [tensors[0], tinfo("b.weight", [16], 0, 0)], data), "overlap")
    cases["out_of_file_offset"] = (build(kvs, [tensors[0], tinfo("b.weight", [8], 0, 1 << 20)], data),
                                   "past end of file")
    cases["offset_overflow"] = (build(kvs, [tensors[0], tinfo("b.weight", [8], 0, (1 << 64) - 32)], data),
                                "overflow")
    cases["duplicate_tensor_name"] = (build(kvs, [tensors[0], tinfo("a.weight", [8], 0, 32)], data),
                                      "more than once")
    cases["long_tensor_name"] = (build(kvs, [tinfo("x" * 300, [8], 0, 0), tensors[1]], data), "limit")
    cases["no_architecture"] = (build(kvs[1:], tensors, data), "general.architecture")
    # Added with the second round of the reader: more sections to truncate, more lies.
    arr = kv("k.array", ARR, struct.pack("<IQ", U32, 4) + struct.pack("<4I", 1, 2, 3, 4))
    with_array = build([ARCH, arr], tensors, data)
    array_start = header_len + len(ARCH) + len(s("k.array")) + 4
    # Cut after 1.5 of 4 elements: the count check sees that 16 bytes cannot follow.
    cases["truncated_array"] = (with_array[:array_start + 12 + 6], "truncated or a lying count")
    strs = kv("k.strs", ARR, struct.pack("<IQ", STR, 2) + s("first") + s("second"))
    cases["truncated_string_in_array"] = (build([ARCH, strs], tensors, data)[:header_len + len(ARCH) + len(strs) - 3],
                                          "truncated")
    cases["lying_nested_array_length"] = (build([ARCH, kv("k", ARR, struct.pack("<IQ", ARR, 2) +
                                                           struct.pack("<IQ", U8, 1 << 50))], tensors, data),
                                          "array claims")
    cases["lying_tensor_name_length"] = (build(kvs, [struct.pack("<Q", 1000) + b"a.weight",
                                                     tensors[1]], data), "truncated")
    cases["non_utf8_tensor_name"] = (build(kvs, [tinfo(b"a\xc0\xafweight", [8], 0, 0), tensors[1]], data), "UTF-8")
    cases["empty_key"] = (build([ARCH, kv("", U8, b"\1")], tensors, data), "empty")
    cases["alignment_zero"] = (build([ARCH, kv("general.alignment", U32, struct.pack("<I", 0))], tensors, data),
                               "power of two")
    cases["version_0"] = (build(kvs, tensors, data, version=0), "version 0")
    cases["big_endian"] = (b"GGUF" + struct.pack(">IQQ", 3, 2, 2) + b"\0" * 64, "big-endian")
    # Three independent tensor problems: `enclave inspect` lists all of them.
    cases["several_bad_tensors"] = (build(kvs, [tinfo("a.weight", [8], 16, 0), tinfo("b.weight", [8], 0, 40),
                                                tinfo("c.weight", [0], 0, 64)], data + b"\0" * 64), "IQ2_XXS")

    with open(os.path.join(OUT, "EXPECTED.tsv"), "w") as f:
        f.write("# file\twords the error message must contain\n")
        for name, (blob, word) in sorted(cases.items()):
            with open(os.path.join(OUT, name + ".gguf"), "wb") as g:
                g.write(blob)
            f.write(f"{name}.gguf\t{word}\n")
    print(f"wrote {len(cases)} malformed files to {OUT}")


if __name__ == "__main__":
    main()

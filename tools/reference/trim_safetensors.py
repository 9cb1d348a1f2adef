"""Copies a .safetensors file without the tensors a model never reads.

Used by `cargo xtask gpu-bundle` to drop GPT-2's token embedding table (`wte.weight`: FPT
feeds `inputs_embeds`) and its causal-mask buffers (`*.attn.bias`, `*.attn.masked_bias`).
Standard library only: the format is an 8-byte little-endian header length, a JSON header
of name -> {dtype, shape, data_offsets}, then the tensor bytes.

  trim_safetensors.py IN OUT [--drop NAME]... [--drop-suffix SUFFIX]...
"""

import argparse
import json
import shutil
import struct
import sys

METADATA = "__metadata__"
ALIGN = 8


def read_header(f):
    (length,) = struct.unpack("<Q", f.read(8))
    return json.loads(f.read(length)), 8 + length


def trim(src, dst, drop, drop_suffixes):
    with open(src, "rb") as fin:
        header, data_start = read_header(fin)
        kept = sorted(
            (name for name in header if name != METADATA
             and name not in drop and not name.endswith(tuple(drop_suffixes))),
            key=lambda name: header[name]["data_offsets"][0],
        )
        out_header = {METADATA: header[METADATA]} if METADATA in header else {}
        offset = 0
        for name in kept:
            begin, end = header[name]["data_offsets"]
            out_header[name] = {**header[name], "data_offsets": [offset, offset + end - begin]}
            offset += end - begin
        text = json.dumps(out_header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % ALIGN)
        with open(dst, "wb") as fout:
            fout.write(struct.pack("<Q", len(text)))
            fout.write(text)
            for name in kept:
                begin, end = header[name]["data_offsets"]
                fin.seek(data_start + begin)
                remaining = end - begin
                while remaining:
                    chunk = fin.read(min(remaining, 1 << 24))
                    if not chunk:
                        sys.exit(f"trim_safetensors.py: {src} is truncated inside {name}")
                    fout.write(chunk)
                    remaining -= len(chunk)
    return len(header) - (METADATA in header) - len(kept)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--drop", action="append", default=[])
    parser.add_argument("--drop-suffix", action="append", default=[])
    args = parser.parse_args()
    if args.src == args.dst:
        sys.exit("trim_safetensors.py: write to another file than the input")
    dropped = trim(args.src, args.dst + ".tmp", set(args.drop), args.drop_suffix)
    shutil.move(args.dst + ".tmp", args.dst)
    print(f"dropped {dropped} tensor(s); wrote {args.dst}")


if __name__ == "__main__":
    main()

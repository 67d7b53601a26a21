"""A synthetic sensitive-word lexicon for benchmarks (seeded, deterministic), in the format of
docs/word-filter.md: TERM<TAB>CATEGORY per line. Half Latin terms (6-12 random letters), half CJK
(2-4 characters from 6,000 ideographs), spread over 4 categories (2 mask, 2 flag: the benchmark
measures cost, so nothing blocks).

    python3 bench/server/make_lexicon.py --terms 120000 --out /tmp/lexicon-120k.tsv
"""
import argparse
import random


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--terms", type=int, default=120000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    ideographs = [chr(0x4E00 + i) for i in range(6000)]
    categories = ["mask_a", "mask_b", "flag_a", "flag_b"]
    seen = set()
    with open(a.out, "w", encoding="utf-8") as f:
        while len(seen) < a.terms:
            if len(seen) % 2 == 0:
                term = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(6, 12)))
            else:
                term = "".join(rng.choice(ideographs) for _ in range(rng.randint(2, 4)))
            if term in seen:
                continue
            seen.add(term)
            f.write(f"{term}\t{categories[len(seen) % 4]}\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Check-digit reference data for the PII detectors: verdicts of python-stdnum (pinned in
scripts/requirements-ref.txt) on generated resident ID numbers (stdnum.cn.ric), Unified Social
Credit Codes (stdnum.cn.uscc) and Luhn numbers (stdnum.luhn), written to
tests/fixtures/pii/check_digits.tsv as `kind<TAB>value<TAB>0|1`.

For each kind: values made valid with stdnum's own check-digit function, the same values with one
character changed (stdnum decides), and, for IDs, impossible dates with a correct check digit.
Inputs stay where Enclave's rules and stdnum's coincide: IDs use county codes stdnum knows and
birth years 1950-2020 (Enclave checks the province and years 1900-2099; stdnum the county table);
USCCs keep their first 8 characters digits (stdnum requires that; GB 32100 allows letters in 1-2).

Run: .venv/bin/python scripts/ref/make_pii_fixtures.py  (deterministic: seeded)
"""
import datetime
import pathlib
import random

from stdnum import luhn
from stdnum.cn import ric, uscc

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/pii/check_digits.tsv"
COUNTIES = ["110101", "110105", "310101", "320102", "440304", "510104", "330106", "420102", "610113"]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
rng = random.Random(20241130)


def mutate(value, alphabet):
    i = rng.randrange(len(value))
    c = rng.choice([a for a in alphabet if a != value[i]])
    return value[:i] + c + value[i + 1:]


def valid_ric():
    while True:
        day = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 70))
        body = rng.choice(COUNTIES) + day.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
        value = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(value):
            return value


def bad_date_ric():
    year = rng.randrange(1950, 2020)
    month, day = rng.choice([(2, 30), (2, 31), (4, 31), (13, 1), (0, 10), (6, 0), (11, 31)])
    if year % 4 != 0:
        month, day = rng.choice([(2, 29), (month, day)])
    body = rng.choice(COUNTIES) + f"{year:04d}{month:02d}{day:02d}" + f"{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def valid_uscc():
    body = rng.choice("159") + rng.choice("123")  # registration authority and category, digits + "".join(rng.choice("0123456789") for _ in range(6))
    body += "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def valid_luhn():
    payload = str(rng.randrange(1, 10)) + "".join(rng.choice("0123456789") for _ in range(rng.randrange(14, 18)))
    return payload + luhn.calc_check_digit(payload)


def main():
    rows = []
    for _ in range(150):
        v = valid_ric()
        rows.append(("ric", v, ric.is_valid(v)))
        m = mutate(v, "0123456789X")
        rows.append(("ric", m, ric.is_valid(m)))
    for _ in range(30):
        v = bad_date_ric()
        rows.append(("ric", v, ric.is_valid(v)))
    for _ in range(150):
        v = valid_uscc()
        rows.append(("uscc", v, uscc.is_valid(v)))
        m = mutate(v, USCC_ALPHABET)
        rows.append(("uscc", m, uscc.is_valid(m)))
    for _ in range(150):
        v = valid_luhn()
        rows.append(("luhn", v, luhn.is_valid(v)))
        m = mutate(v, "0123456789")
        rows.append(("luhn", m, luhn.is_valid(m)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w") as f:
        f.write("# kind\tvalue\tvalid (python-stdnum 2.2 verdict; scripts/ref/make_pii_fixtures.py)\n")
        for kind, value, ok in rows:
            f.write(f"{kind}\t{value}\t{int(ok)}\n")
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()

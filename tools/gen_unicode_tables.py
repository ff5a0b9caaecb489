#!/usr/bin/env python3
"""gen_unicode_tables.py: writes ext/engine/unicode_tables.{c,h}, the character
properties the BERT tokenizer needs, from the Unicode Character Database.

    python3 tools/gen_unicode_tables.py [--ucd /usr/share/unicode] [--out ext/engine]

Input: Debian's package `unicode-data` (UnicodeData.txt, PropList.txt,
SpecialCasing.txt, DerivedAge.txt). Standard library only; the output is
deterministic, so regenerating with the same UCD gives the same files.

Which Unicode version?  The tokenizer must give the ids Hugging Face's Rust
`tokenizers` gives, and that library does not use one Unicode version but
several, each frozen in a dependency.  Every choice below was checked against
the Rust library itself (npm `tokenizers` 0.23.2) on every code point
U+0000..U+10FFFF, and for canonical ordering on every non-zero combining class:

  * Cc/Cf/Co ("other", dropped by clean_text), P* (punctuation, split by the
    pre-tokenizer) and Mn (dropped by strip_accents) come from the crate
    `unicode_categories` 0.1.1, whose tables are Unicode 8.0 (measured: no
    other version fits).  So those classes only hold code points assigned by
    8.0 (DerivedAge), with their 8.0 category.  Six code points assigned by 8.0 changed category later in a way that
    matters here; CATEGORY_8_0 below gives their 8.0 value.  Cn (unassigned)
    is not "other" in that crate, so unassigned code points are kept.
  * NFD (canonical decomposition, applied recursively, plus algorithmic
    Hangul) and the canonical combining classes that drive canonical
    reordering come from the crate `unicode-normalization-alignments`, whose
    tables are Unicode 9.0 (measured): only code points assigned by 9.0
    decompose or reorder.  (Later characters act as starters, e.g. U+11938
    does not decompose.)
  * White_Space is Rust's char::is_whitespace, which is the White_Space
    property; it has not changed since Unicode 6.3, so the installed
    PropList.txt is exact.
  * Lowercase is Rust's char::to_lowercase: the simple mapping of
    UnicodeData.txt plus the unconditional multi-character mappings of
    SpecialCasing.txt (only U+0130 -> U+0069 U+0307).  The std library follows
    the Rust compiler's Unicode version, which is newer than the installed UCD
    (the npm build is Unicode 16.0); we use the installed UCD as is.  The only
    difference is the lowercase of 55 characters that are unassigned in
    Unicode 15.0; neither they nor their lowercase forms are in the BERT
    vocabularies (checked on all-MiniLM-L6-v2), so a word holding one becomes
    [UNK] either way.
  * "Chinese characters" are the fixed ranges of BertNormalizer, not a
    Unicode property (they leave out U+2B820..U+2B91F and newer blocks).
"""

import argparse
import os
import re
import sys

# General_Category in Unicode 8.0 of the code points assigned by 8.0 whose
# category has changed since in a way that changes Other/Punctuation/Mn.
CATEGORY_8_0 = {
    0x166D: "Po",   # CANADIAN SYLLABICS CHI SIGN, So since 12.0
    0x1734: "Mn",   # HANUNOO SIGN PAMUDPOD, Mc since 14.0
    0x1885: "Lo",   # MONGOLIAN LETTER ALI GALI BALUDA, Mn since 9.0
    0x1886: "Lo",   # MONGOLIAN LETTER ALI GALI THREE BALUDA, Mn since 9.0
    0xA9BD: "Mc",   # JAVANESE CONSONANT SIGN KERET, Mn since 12.0
    0x111C9: "Po",  # SHARADA SANDHI MARK, Mn since 13.0
}
CATEGORIES_VERSION = (8, 0)
NORMALIZATION_VERSION = (9, 0)

CJK_RANGES = [
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
]

# Flag bits; the header repeats them with their meaning.
F_OTHER, F_WHITE, F_PUNCT, F_MN, F_CJK, F_DECOMP, F_LOWER, F_CCC = (1 << i for i in range(8))

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
MAX_CP = 0x10FFFF


def ranges_file(path):
    """Yields (first, last, fields) for each data line of a UCD property file."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = [x.strip() for x in line.split(";")]
            first, _, last = fields[0].partition("..")
            yield int(first, 16), int(last or first, 16), fields[1:]


def load(ucd):
    category, ccc, decomp, lower = {}, {}, {}, {}
    with open(os.path.join(ucd, "UnicodeData.txt"), encoding="utf-8") as f:
        first = None
        for line in f:
            fld = line.rstrip("\n").split(";")
            cp, name = int(fld[0], 16), fld[1]
            if name.endswith(", First>"):
                first = cp
                continue
            if name.endswith(", Last>"):
                for c in range(first, cp + 1):
                    category[c] = fld[2]
                continue
            category[cp] = fld[2]
            if fld[3] != "0":
                ccc[cp] = int(fld[3])
            if fld[5] and not fld[5].startswith("<"):
                decomp[cp] = [int(x, 16) for x in fld[5].split()]
            if fld[13]:
                lower[cp] = [int(fld[13], 16)]
    for first, last, fld in ranges_file(os.path.join(ucd, "SpecialCasing.txt")):
        if len(fld) >= 4 and fld[3]:
            continue  # conditional (language or context): to_lowercase ignores it
        mapping = [int(x, 16) for x in fld[0].split()]
        if mapping != [first]:
            lower[first] = mapping
    white = set()
    for first, last, fld in ranges_file(os.path.join(ucd, "PropList.txt")):
        if fld[0] == "White_Space":
            white.update(range(first, last + 1))
    age = {}
    for first, last, fld in ranges_file(os.path.join(ucd, "DerivedAge.txt")):
        v = tuple(int(x) for x in fld[0].split("."))
        for c in range(first, last + 1):
            age[c] = v
    return category, ccc, decomp, lower, white, age


def ucd_version(ucd):
    with open(os.path.join(ucd, "DerivedAge.txt"), encoding="utf-8") as f:
        m = re.search(r"DerivedAge-(\d+\.\d+\.\d+)\.txt", f.readline())
    if not m:
        sys.exit("cannot read the UCD version from DerivedAge.txt")
    return m.group(1)


def build(ucd):
    category, ccc_all, decomp_all, lower, white, age = load(ucd)
    unassigned = (99,)

    def cat8(c):
        if age.get(c, unassigned) > CATEGORIES_VERSION:
            return "Cn"
        return CATEGORY_8_0.get(c, category.get(c, "Cn"))

    def in_norm(c):
        return age.get(c, unassigned) <= NORMALIZATION_VERSION

    ccc = {c: v for c, v in ccc_all.items() if in_norm(c)}
    decomp_one = {c: v for c, v in decomp_all.items() if in_norm(c)}

    def nfd(c):
        if c not in decomp_one:
            return [c]
        out = []
        for d in decomp_one[c]:
            out += nfd(d)
        return out

    decomp = {c: nfd(c) for c in decomp_one}

    flags = bytearray(MAX_CP + 1)
    for c in range(MAX_CP + 1):
        f = 0
        g = cat8(c)
        if g in ("Cc", "Cf", "Co"):
            f |= F_OTHER
        if c in white:
            f |= F_WHITE
        if g.startswith("P") or (c < 128 and chr(c) in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"):
            f |= F_PUNCT
        if g == "Mn":
            f |= F_MN
        if any(a <= c <= b for a, b in CJK_RANGES):
            f |= F_CJK
        if c in decomp or HANGUL_FIRST <= c <= HANGUL_LAST:
            f |= F_DECOMP
        if c in lower and lower[c] != [c]:
            f |= F_LOWER
        if c in ccc:
            f |= F_CCC
        flags[c] = f
    return flags, ccc, decomp, {c: m for c, m in lower.items() if m != [c]}


def two_stage(flags):
    """Returns the smallest (shift, stage1, blocks) split of the flag array."""
    best = None
    for shift in range(5, 11):
        size = 1 << shift
        index, blocks, stage1 = {}, [], []
        for start in range(0, len(flags), size):
            blk = bytes(flags[start:start + size])
            if blk not in index:
                index[blk] = len(blocks)
                blocks.append(blk)
            stage1.append(index[blk])
        width = 1 if len(blocks) <= 256 else 2
        total = len(stage1) * width + len(blocks) * size
        if best is None or total < best[0]:
            best = (total, shift, stage1, blocks, width)
    return best[1:]


def c_array(ctype, name, values, per_line, fmt):
    lines = []
    for i in range(0, len(values), per_line):
        lines.append("  " + ", ".join(fmt(v) for v in values[i:i + per_line]) + ",")
    return "const %s %s[%d] = {\n%s\n};\n" % (ctype, name, len(values), "\n".join(lines))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ucd", default="/usr/share/unicode")
    ap.add_argument("--out", default=os.path.join(here, "..", "ext", "engine"))
    args = ap.parse_args()

    version = ucd_version(args.ucd)
    flags, ccc, decomp, lower = build(args.ucd)
    shift, stage1, blocks, width = two_stage(flags)

    ccc_keys = sorted(ccc)
    dec_keys = sorted(decomp)
    pool, dec_index = [], []
    for c in dec_keys:
        dec_index.append(len(pool))
        pool += decomp[c]
    dec_index.append(len(pool))
    max_decomp = max(max(len(v) for v in decomp.values()), 3)  # 3: Hangul LVT
    low_keys = sorted(lower)
    low_vals, low_multi = [], []
    for c in low_keys:
        m = lower[c]
        if len(m) == 1:
            low_vals.append(m[0])
        else:
            low_vals.append(0x80000000 | (len(low_multi) << 8) | len(m))
            low_multi += m
    max_lower = max(len(m) for m in lower.values())
    assert len(pool) < 65536 and max_decomp <= 8 and max_lower <= 8

    stamp = ("Generated by tools/gen_unicode_tables.py from the Unicode Character "
             "Database %s\n** (Debian package unicode-data). Do not edit: run\n"
             "**   python3 tools/gen_unicode_tables.py\n"
             "** The Unicode versions each table follows, and why, are in the "
             "generator's docstring." % version)
    s1type = "uint8_t" if width == 1 else "uint16_t"

    h = """/*
** unicode_tables.h: character properties for the BERT tokenizer.
**
** %s
*/
#ifndef SEMLITE_UNICODE_TABLES_H
#define SEMLITE_UNICODE_TABLES_H

#include <stddef.h>
#include <stdint.h>

#define SL_UNI_VERSION "%s"

/* Flag bits of sl_uni_flags(). */
#define SL_UNI_OTHER  0x01 /* Cc, Cf or Co as unicode_categories (8.0) sees them */
#define SL_UNI_WHITE  0x02 /* White_Space (Rust char::is_whitespace) */
#define SL_UNI_PUNCT  0x04 /* ASCII punctuation or P* (8.0): BertPreTokenizer splits */
#define SL_UNI_MN     0x08 /* Mn (8.0): strip_accents drops it */
#define SL_UNI_CJK    0x10 /* a BertNormalizer "Chinese character" */
#define SL_UNI_DECOMP 0x20 /* has a canonical decomposition (9.0), Hangul included */
#define SL_UNI_LOWER  0x40 /* to_lowercase() is not the character itself */
#define SL_UNI_CCC    0x80 /* canonical combining class is not 0 (9.0) */

#define SL_UNI_SHIFT %d
#define SL_UNI_MAX_DECOMP %d /* longest full canonical decomposition */
#define SL_UNI_MAX_LOWER %d  /* longest lowercase mapping */

extern const %s sl_uni_stage1[%d];
extern const uint8_t sl_uni_stage2[%d];

/* Code point (canonical combining class in the low 8 bits, code point above),
** sorted. */
extern const uint32_t sl_uni_ccc[%d];
#define SL_UNI_CCC_COUNT %d

/* Full canonical decompositions: sl_uni_decomp_pool[index[i]..index[i+1]) for
** sl_uni_decomp_keys[i] (sorted). Hangul syllables are algorithmic, not here. */
extern const uint32_t sl_uni_decomp_keys[%d];
extern const uint16_t sl_uni_decomp_index[%d];
extern const uint32_t sl_uni_decomp_pool[%d];
#define SL_UNI_DECOMP_COUNT %d

/* Lowercase of sl_uni_lower_keys[i] (sorted): a code point, or, with the top
** bit set, (start << 8 | length) in sl_uni_lower_multi. */
extern const uint32_t sl_uni_lower_keys[%d];
extern const uint32_t sl_uni_lower_vals[%d];
extern const uint32_t sl_uni_lower_multi[%d];
#define SL_UNI_LOWER_COUNT %d

static inline unsigned sl_uni_flags(uint32_t cp) {
  return sl_uni_stage2[((uint32_t)sl_uni_stage1[cp >> SL_UNI_SHIFT] << SL_UNI_SHIFT)
                       | (cp & ((1u << SL_UNI_SHIFT) - 1))];
}

#endif
""" % (stamp, version, shift, max_decomp, max_lower, s1type, len(stage1),
       len(blocks) << shift, len(ccc_keys), len(ccc_keys), len(dec_keys),
       len(dec_index), len(pool), len(dec_keys), len(low_keys), len(low_vals),
       max(len(low_multi), 1), len(low_keys))

    stage2 = b"".join(blocks)
    hexw = lambda v: "0x%X" % v
    c = ["""/*
** unicode_tables.c: character property tables for the BERT tokenizer.
**
** %s
*/
#include "unicode_tables.h"

""" % stamp]
    c.append(c_array(s1type, "sl_uni_stage1", stage1, 16, str))
    c.append(c_array("uint8_t", "sl_uni_stage2", list(stage2), 16, lambda v: "0x%02X" % v))
    c.append(c_array("uint32_t", "sl_uni_ccc", [(k << 8) | ccc[k] for k in ccc_keys], 8, hexw))
    c.append(c_array("uint32_t", "sl_uni_decomp_keys", dec_keys, 8, hexw))
    c.append(c_array("uint16_t", "sl_uni_decomp_index", dec_index, 12, str))
    c.append(c_array("uint32_t", "sl_uni_decomp_pool", pool, 8, hexw))
    c.append(c_array("uint32_t", "sl_uni_lower_keys", low_keys, 8, hexw))
    c.append(c_array("uint32_t", "sl_uni_lower_vals", low_vals, 8, hexw))
    c.append(c_array("uint32_t", "sl_uni_lower_multi", low_multi or [0], 8, hexw))

    with open(os.path.join(args.out, "unicode_tables.h"), "w", encoding="utf-8") as f:
        f.write(h)
    with open(os.path.join(args.out, "unicode_tables.c"), "w", encoding="utf-8") as f:
        f.write("\n".join(c))


if __name__ == "__main__":
    main()

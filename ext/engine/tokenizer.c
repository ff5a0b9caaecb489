/*
** tokenizer.c: the BERT WordPiece tokenizer (tokenizer.h), bit-exact with Hugging
** Face's Rust `tokenizers`: added-token split, BertNormalizer, BertPreTokenizer,
** WordPiece, the BERT template and `longest_first` truncation.
**
** Encoding is one streaming pass per piece of text between special tokens. Each
** character goes through the normalizer's steps in Hugging Face's order (clean
** text, space out Chinese characters, NFD and drop Mn, lowercase) and then through
** the pre-tokenizer, which collects the bytes of the current word; at the end of a
** word WordPiece runs on those bytes. Only canonical reordering needs look-ahead:
** combining marks wait in a small buffer until the next starter. So nothing is
** allocated per character, and for the usual short text nothing at all except the
** output array. ASCII, the common case, skips the Unicode steps entirely.
**
** The vocabulary is an open-addressing hash table built once at load. Tokens that
** start with the "##" continuation prefix are entered a second time under the rest
** of their text, marked as continuations, so a lookup never builds a string.
*/
#include "../base/alloc.h"
#include "tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/file.h"
#include "unicode.h"

#define CONT_PREFIX "##"
#define CONT_PREFIX_LEN 2

/* What the fast path does with an ASCII byte (decided at load from the config). */
enum { ASCII_SKIP, ASCII_SPACE, ASCII_PUNCT, ASCII_WORD };

typedef struct special_token {
  const char *text;
  size_t len;
  int32_t id;
} special_token;

/* A slot of the vocabulary hash table: 0 when empty, else (id + 1), with the top bit
** set for a continuation entry ("##xyz" entered as "xyz"). */
typedef struct vocab_slot {
  uint32_t hash;
  uint32_t val;
} vocab_slot;

#define SLOT_CONT 0x80000000u

struct sl_tokenizer {
  sl_tokenizer_config cfg; /* strings point into `strings` */
  char *strings;
  int strip_accents;       /* cfg.strip_accents resolved against lowercase */
  size_t max_chars;

  char *blob;              /* the vocabulary file; tokens point into it */
  uint32_t *tok_off, *tok_len;
  size_t n_tokens;
  vocab_slot *slots;
  uint32_t mask;
  size_t max_plain, max_cont; /* longest token, in bytes (continuations without ##) */

  int32_t unk_id, cls_id, sep_id;
  special_token special[5];
  size_t n_special;
  unsigned char special_first[256]; /* bytes a special token can start with */

  unsigned char ascii_kind[128], ascii_lower[128];
};

void sl_tokenizer_config_default(sl_tokenizer_config *cfg) {
  cfg->clean_text = 1;
  cfg->handle_chinese_chars = 1;
  cfg->strip_accents = -1;
  cfg->lowercase = 1;
  cfg->max_input_chars_per_word = 100;
  cfg->unk_token = "[UNK]";
  cfg->cls_token = "[CLS]";
  cfg->sep_token = "[SEP]";
  cfg->pad_token = "[PAD]";
  cfg->mask_token = "[MASK]";
}

void sl_tokens_free(sl_tokens *t) {
  if (!t) return;
  sl_free(t->ids);
  t->ids = NULL;
  t->n = t->cap = 0;
}

static int tokens_reserve(sl_tokens *t, size_t need) {
  if (need <= t->cap) return SL_OK;
  size_t cap = t->cap ? t->cap * 2 : 64;
  if (cap < need) cap = need;
  int32_t *ids = sl_realloc(t->ids, cap * sizeof *ids);
  if (!ids) return SL_ERROR;
  t->ids = ids;
  t->cap = cap;
  return SL_OK;
}

/* ---------------------------------------------------------------- vocabulary */

/* FNV-1a with a final avalanche: keys are short, and the low bits pick the slot. */
static uint32_t hash_bytes(const unsigned char *s, size_t n, int cont) {
  uint32_t h = cont ? 0x6C62272Eu : 0x811C9DC5u;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x01000193u;
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

/* Slot holding the key, or the empty slot where it would go. */
static vocab_slot *vocab_slot_for(const sl_tokenizer *tok, const unsigned char *s, size_t n,
                                  int cont, uint32_t h) {
  uint32_t i = h & tok->mask;
  size_t skip = cont ? CONT_PREFIX_LEN : 0;
  for (;;) {
    vocab_slot *slot = &tok->slots[i];
    if (!slot->val) return slot;
    if (slot->hash == h && !(slot->val & SLOT_CONT) == !cont) {
      uint32_t id = (slot->val & ~SLOT_CONT) - 1;
      if (tok->tok_len[id] - skip == n
          && memcmp(tok->blob + tok->tok_off[id] + skip, s, n) == 0) {
        return slot;
      }
    }
    i = (i + 1) & tok->mask;
  }
}

static int32_t vocab_find(const sl_tokenizer *tok, const unsigned char *s, size_t n, int cont) {
  const vocab_slot *slot = vocab_slot_for(tok, s, n, cont, hash_bytes(s, n, cont));
  return slot->val ? (int32_t)((slot->val & ~SLOT_CONT) - 1) : -1;
}

/* Later lines win over earlier duplicates, as in Hugging Face's vocabulary map. */
static void vocab_insert(sl_tokenizer *tok, uint32_t id, int cont) {
  size_t skip = cont ? CONT_PREFIX_LEN : 0;
  const unsigned char *s = (const unsigned char *)tok->blob + tok->tok_off[id] + skip;
  size_t n = tok->tok_len[id] - skip;
  uint32_t h = hash_bytes(s, n, cont);
  vocab_slot *slot = vocab_slot_for(tok, s, n, cont, h);
  slot->hash = h;
  slot->val = (id + 1) | (cont ? SLOT_CONT : 0);
  if (cont) {
    if (n > tok->max_cont) tok->max_cont = n;
  } else if (n > tok->max_plain) {
    tok->max_plain = n;
  }
}

/* Length of s[0..n) without trailing White_Space, as Rust's trim_end() does to
** each line of vocab.txt. s is valid UTF-8. */
static size_t trim_end(const char *s, size_t n) {
  while (n > 0) {
    size_t k = n - 1;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    const unsigned char *p = (const unsigned char *)s + k;
    if (!(sl_uni_flags(sl_utf8_next(&p)) & SL_UNI_WHITE)) break;
    n = k;
  }
  return n;
}

/* Indexes the vocabulary file's bytes, already in tok->blob (size bytes). */
static int load_vocab(sl_tokenizer *tok, size_t size, const char *path, sl_err *err) {
  size_t bad;
  if (size == 0) return sl_fail(err, "vocabulary file %s is empty", path);
  if (size >= 0x7FFFFFFF) return sl_fail(err, "vocabulary file %s is too large", path);
  if (!sl_utf8_valid(tok->blob, size, &bad)) {
    return sl_fail(err, "vocabulary file %s is not valid UTF-8 at byte %zu", path, bad);
  }

  size_t lines = 0;
  for (size_t i = 0; i < size; i++) lines += tok->blob[i] == '\n';
  if (tok->blob[size - 1] != '\n') lines++;
  tok->tok_off = sl_malloc(lines * sizeof *tok->tok_off);
  tok->tok_len = sl_malloc(lines * sizeof *tok->tok_len);
  if (!tok->tok_off || !tok->tok_len) return sl_fail_code(err, SL_CODE_NOMEM, "out of memory loading vocabulary");

  size_t n_cont = 0;
  for (size_t start = 0; start < size;) {
    const char *nl = memchr(tok->blob + start, '\n', size - start);
    size_t end = nl ? (size_t)(nl - tok->blob) : size;
    size_t len = trim_end(tok->blob + start, end - start);
    tok->tok_off[tok->n_tokens] = (uint32_t)start;
    tok->tok_len[tok->n_tokens] = (uint32_t)len;
    if (len >= CONT_PREFIX_LEN && memcmp(tok->blob + start, CONT_PREFIX, CONT_PREFIX_LEN) == 0) {
      n_cont++;
    }
    tok->n_tokens++;
    start = end + 1;
  }

  /* Load factor at most 2/3 keeps linear probing short. */
  size_t want = (tok->n_tokens + n_cont) * 3 / 2 + 1, cap = 16;
  while (cap < want) cap *= 2;
  tok->slots = sl_calloc(cap, sizeof *tok->slots);
  if (!tok->slots) return sl_fail_code(err, SL_CODE_NOMEM, "out of memory loading vocabulary");
  tok->mask = (uint32_t)(cap - 1);
  for (size_t id = 0; id < tok->n_tokens; id++) {
    vocab_insert(tok, (uint32_t)id, 0);
    if (tok->tok_len[id] >= CONT_PREFIX_LEN
        && memcmp(tok->blob + tok->tok_off[id], CONT_PREFIX, CONT_PREFIX_LEN) == 0) {
      vocab_insert(tok, (uint32_t)id, 1);
    }
  }
  return SL_OK;
}

/* ---------------------------------------------------------------- loading */

static int copy_config(sl_tokenizer *tok, const sl_tokenizer_config *cfg, sl_err *err) {
  const char *src[5] = {cfg->unk_token, cfg->cls_token, cfg->sep_token, cfg->pad_token,
                        cfg->mask_token};
  static const char *const names[5] = {"unk_token", "cls_token", "sep_token", "pad_token",
                                       "mask_token"};
  size_t total = 0, bad;
  for (int i = 0; i < 5; i++) {
    if (!src[i]) {
      if (i < 3) return sl_fail(err, "tokenizer config has no %s", names[i]);
      continue;
    }
    size_t n = strlen(src[i]);
    if (n == 0) return sl_fail(err, "tokenizer config has an empty %s", names[i]);
    if (!sl_utf8_valid(src[i], n, &bad)) {
      return sl_fail(err, "tokenizer config %s is not valid UTF-8", names[i]);
    }
    total += n + 1;
  }
  if (cfg->max_input_chars_per_word < 1) {
    return sl_fail(err, "max_input_chars_per_word must be at least 1, not %d",
                   cfg->max_input_chars_per_word);
  }
  tok->strings = sl_malloc(total);
  if (!tok->strings) return sl_fail_code(err, SL_CODE_NOMEM, "out of memory loading tokenizer");
  tok->cfg = *cfg;
  const char **dst[5] = {&tok->cfg.unk_token, &tok->cfg.cls_token, &tok->cfg.sep_token,
                         &tok->cfg.pad_token, &tok->cfg.mask_token};
  char *p = tok->strings;
  for (int i = 0; i < 5; i++) {
    if (!src[i]) continue;
    size_t n = strlen(src[i]) + 1;
    memcpy(p, src[i], n);
    *dst[i] = p;
    p += n;
  }
  return SL_OK;
}

static int resolve_specials(sl_tokenizer *tok, const char *path, sl_err *err) {
  const char *text[5] = {tok->cfg.unk_token, tok->cfg.cls_token, tok->cfg.sep_token,
                         tok->cfg.pad_token, tok->cfg.mask_token};
  int32_t ids[5];
  for (int i = 0; i < 5; i++) {
    if (!text[i]) continue;
    size_t n = strlen(text[i]);
    ids[i] = vocab_find(tok, (const unsigned char *)text[i], n, 0);
    if (ids[i] < 0) {
      return sl_fail(err, "special token %s is not in vocabulary file %s", text[i], path);
    }
    special_token *st = &tok->special[tok->n_special++];
    st->text = text[i];
    st->len = n;
    st->id = ids[i];
    tok->special_first[(unsigned char)text[i][0]] = 1;
  }
  tok->unk_id = ids[0];
  tok->cls_id = ids[1];
  tok->sep_id = ids[2];
  return SL_OK;
}

static void build_ascii(sl_tokenizer *tok) {
  for (unsigned c = 0; c < 128; c++) {
    unsigned f = sl_uni_flags(c);
    unsigned char kind = ASCII_WORD;
    if (tok->cfg.clean_text && (c == 0 || ((f & SL_UNI_OTHER) && c != '\t' && c != '\n'
                                           && c != '\r'))) {
      kind = ASCII_SKIP;
    } else if (f & SL_UNI_WHITE) {
      kind = ASCII_SPACE;
    } else if (f & SL_UNI_PUNCT) {
      kind = ASCII_PUNCT;
    }
    tok->ascii_kind[c] = kind;
    tok->ascii_lower[c] = (unsigned char)(tok->cfg.lowercase && c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
}

int sl_tokenizer_load_data(char *data, size_t size, const char *vocab_path,
                           const sl_tokenizer_config *cfg, sl_tokenizer **out, sl_err *err) {
  sl_tokenizer_config def;
  *out = NULL;
  if (!cfg) {
    sl_tokenizer_config_default(&def);
    cfg = &def;
  }
  sl_tokenizer *tok = sl_calloc(1, sizeof *tok);
  if (!tok) {
    sl_free(data);
    return sl_fail_code(err, SL_CODE_NOMEM, "out of memory loading tokenizer");
  }
  tok->blob = data;
  if (copy_config(tok, cfg, err) || load_vocab(tok, size, vocab_path, err)
      || resolve_specials(tok, vocab_path, err)) {
    sl_tokenizer_free(tok);
    return SL_ERROR;
  }
  tok->strip_accents = cfg->strip_accents < 0 ? cfg->lowercase != 0 : cfg->strip_accents != 0;
  tok->max_chars = (size_t)cfg->max_input_chars_per_word;
  build_ascii(tok);
  *out = tok;
  return SL_OK;
}

int sl_tokenizer_load(const char *vocab_path, const sl_tokenizer_config *cfg,
                      sl_tokenizer **out, sl_err *err) {
  sl_file f;
  *out = NULL;
  if (sl_file_read(NULL, vocab_path, SL_VOCAB_MAX_BYTES, 0, NULL, &f, err)) {
    if (f.fail != SL_FILE_FAIL_OPEN) return SL_ERROR;
    /* Not strerror(): it is not thread-safe, and its messages are capitalized. */
    if (f.fail_errno == ENOENT)
      return sl_fail(err, "cannot open vocabulary file %s: no such file", vocab_path);
    if (f.fail_errno == EACCES)
      return sl_fail(err, "cannot open vocabulary file %s: permission denied", vocab_path);
    return sl_fail(err, "cannot open vocabulary file %s: errno %d", vocab_path, f.fail_errno);
  }
  return sl_tokenizer_load_data(sl_file_take(&f), f.size, vocab_path, cfg, out, err);
}

void sl_tokenizer_free(sl_tokenizer *tok) {
  if (!tok) return;
  sl_free(tok->strings);
  sl_free(tok->blob);
  sl_free(tok->tok_off);
  sl_free(tok->tok_len);
  sl_free(tok->slots);
  sl_free(tok);
}

size_t sl_tokenizer_vocab_size(const sl_tokenizer *tok) { return tok->n_tokens; }
int32_t sl_tokenizer_cls_id(const sl_tokenizer *tok) { return tok->cls_id; }
int32_t sl_tokenizer_sep_id(const sl_tokenizer *tok) { return tok->sep_id; }

/* ---------------------------------------------------------------- encoding */

#define PENDING_STACK 32
#define WORD_STACK 512

/* The state of one encode call: lives on the caller's stack. */
typedef struct enc {
  const sl_tokenizer *tok;
  sl_tokens *out;
  int oom;
  /* Combining marks waiting for canonical reordering: (ccc << 21 | code point). */
  uint32_t *pend;
  size_t npend, pend_cap;
  /* The current word, in UTF-8; only its first max_chars characters are kept. */
  unsigned char *word;
  size_t wlen, wchars;
  /* Where this text's ids start in out, and the pair-truncation view of its length
  ** (see sl_tokenizer_encode_pair): 0 until a word ends at stop_at ids or more. */
  size_t base, stop_at, seen;
  uint32_t pend_stack[PENDING_STACK];
  unsigned char word_stack[WORD_STACK];
} enc;

static void emit(enc *e, int32_t id) {
  if (e->oom) return;
  if (e->out->n == e->out->cap && tokens_reserve(e->out, e->out->n + 1)) {
    e->oom = 1;
    return;
  }
  e->out->ids[e->out->n++] = id;
}

/* WordPiece: greedy longest match from the left, "##" pieces after the first; a
** word that is too long, or has a part no token matches, is one [UNK]. */
static void end_word(enc *e) {
  const sl_tokenizer *tok = e->tok;
  const unsigned char *w = e->word;
  size_t len = e->wlen;
  if (e->wchars == 0) return;
  if (e->wchars > tok->max_chars) {
    emit(e, tok->unk_id);
  } else {
    size_t mark = e->out->n, start = 0;
    while (start < len) {
      int cont = start > 0;
      size_t longest = cont ? tok->max_cont : tok->max_plain, end = len;
      int32_t id = -1;
      if (end - start > longest) {
        end = start + longest;
        while (end > start && (w[end] & 0xC0) == 0x80) end--;
      }
      while (end > start) {
        id = vocab_find(tok, w + start, end - start, cont);
        if (id >= 0) break;
        do end--; while (end > start && (w[end] & 0xC0) == 0x80);
      }
      if (id < 0) {
        if (!e->oom) e->out->n = mark;
        emit(e, tok->unk_id);
        break;
      }
      emit(e, id);
      start = end;
    }
  }
  e->wlen = e->wchars = 0;
  if (e->stop_at && !e->seen && e->out->n - e->base >= e->stop_at) e->seen = e->out->n - e->base;
}

static inline void word_add(enc *e, uint32_t c) {
  if (e->wchars < e->tok->max_chars) e->wlen += sl_utf8_put(e->word + e->wlen, c);
  e->wchars++;
}

/* BertPreTokenizer: whitespace separates words, punctuation is a word of its own. */
static void pretokenize(enc *e, uint32_t c) {
  unsigned f = sl_uni_flags(c);
  if (f & SL_UNI_WHITE) {
    end_word(e);
  } else if (f & SL_UNI_PUNCT) {
    end_word(e);
    word_add(e, c);
    end_word(e);
  } else {
    word_add(e, c);
  }
}

/* The last normalizer steps, after canonical ordering: drop Mn, lowercase. */
static void strip_and_lower(enc *e, uint32_t c) {
  unsigned f = sl_uni_flags(c);
  if (e->tok->strip_accents && (f & SL_UNI_MN)) return;
  if (e->tok->cfg.lowercase && (f & SL_UNI_LOWER)) {
    uint32_t low[SL_UNI_MAX_LOWER];
    size_t n = sl_uni_lower(c, low);
    for (size_t i = 0; i < n; i++) pretokenize(e, low[i]);
  } else {
    pretokenize(e, c);
  }
}

static void flush_pending(enc *e) {
  for (size_t i = 0; i < e->npend; i++) strip_and_lower(e, e->pend[i] & 0x1FFFFF);
  e->npend = 0;
}

/* Canonical ordering: a run of non-starters is stable-sorted by combining class. */
static void reorder(enc *e, uint32_t c) {
  unsigned ccc = (sl_uni_flags(c) & SL_UNI_CCC) ? sl_uni_ccc_of(c) : 0;
  if (ccc == 0) {
    flush_pending(e);
    strip_and_lower(e, c);
    return;
  }
  if (e->npend == e->pend_cap) {
    size_t cap = e->pend_cap * 2;
    uint32_t *p = e->pend == e->pend_stack ? sl_malloc(cap * sizeof *p)
                                           : sl_realloc(e->pend, cap * sizeof *p);
    if (!p) {
      e->oom = 1;
      return;
    }
    if (e->pend == e->pend_stack) memcpy(p, e->pend_stack, sizeof e->pend_stack);
    e->pend = p;
    e->pend_cap = cap;
  }
  uint32_t key = (uint32_t)ccc << 21 | c;
  size_t i = e->npend++;
  while (i > 0 && (e->pend[i - 1] >> 21) > ccc) {
    e->pend[i] = e->pend[i - 1];
    i--;
  }
  e->pend[i] = key;
}

static void decompose(enc *e, uint32_t c) {
  if (!e->tok->strip_accents) {
    strip_and_lower(e, c);
  } else if (sl_uni_flags(c) & SL_UNI_DECOMP) {
    uint32_t d[SL_UNI_MAX_DECOMP];
    size_t n = sl_uni_decompose(c, d);
    for (size_t i = 0; i < n; i++) reorder(e, d[i]);
  } else {
    reorder(e, c);
  }
}

/* The first normalizer steps: clean_text, then spaces around Chinese characters. */
static void normalize(enc *e, uint32_t c) {
  const sl_tokenizer *tok = e->tok;
  unsigned f = sl_uni_flags(c);
  if (tok->cfg.clean_text) {
    if (c == 0 || c == 0xFFFD || ((f & SL_UNI_OTHER) && c != '\t' && c != '\n' && c != '\r')) {
      return;
    }
    if (f & SL_UNI_WHITE) c = ' ';
  }
  if (tok->cfg.handle_chinese_chars && (f & SL_UNI_CJK)) {
    decompose(e, ' ');
    decompose(e, c);
    decompose(e, ' ');
  } else {
    decompose(e, c);
  }
}

/* Text with no special token in it: normalize, pre-tokenize, WordPiece. */
static void encode_piece(enc *e, const unsigned char *p, const unsigned char *end) {
  const sl_tokenizer *tok = e->tok;
  while (p < end) {
    unsigned c = *p;
    if (c >= 0x80) {
      normalize(e, sl_utf8_next(&p));
      continue;
    }
    p++;
    unsigned char kind = tok->ascii_kind[c];
    if (kind == ASCII_SKIP) continue;
    if (e->npend) flush_pending(e); /* an ASCII character is a starter */
    if (kind == ASCII_WORD) {
      if (e->wchars < tok->max_chars) e->word[e->wlen++] = tok->ascii_lower[c];
      e->wchars++;
    } else {
      end_word(e);
      if (kind == ASCII_PUNCT) {
        word_add(e, c);
        end_word(e);
      }
    }
  }
  flush_pending(e);
  end_word(e);
}

/* Splits out the special tokens (leftmost, then longest), encodes the rest. With
** stop_at > 0, *seen gets the length Hugging Face's pair truncation sees. */
static int encode_text(const sl_tokenizer *tok, const char *text, size_t len, sl_tokens *out,
                       size_t stop_at, size_t *seen, sl_err *err) {
  enc e;
  if (!text) text = ""; /* len is 0: no arithmetic on a null pointer */
  e.tok = tok;
  e.out = out;
  e.oom = 0;
  e.base = out->n;
  e.stop_at = stop_at;
  e.seen = 0;
  e.pend = e.pend_stack;
  e.npend = 0;
  e.pend_cap = PENDING_STACK;
  e.wlen = e.wchars = 0;
  e.word = e.word_stack;
  if (tok->max_chars > (WORD_STACK - 4) / 4) {
    e.word = sl_malloc(tok->max_chars * 4 + 4);
    if (!e.word) return sl_oom(err);
  }

  const unsigned char *s = (const unsigned char *)text, *piece = s;
  for (size_t i = 0; i < len;) {
    if (!tok->special_first[s[i]]) {
      i++;
      continue;
    }
    const special_token *best = NULL;
    for (size_t k = 0; k < tok->n_special; k++) {
      const special_token *st = &tok->special[k];
      if (st->len <= len - i && (!best || st->len > best->len)
          && memcmp(s + i, st->text, st->len) == 0) {
        best = st;
      }
    }
    if (!best) {
      i++;
      continue;
    }
    encode_piece(&e, piece, s + i);
    emit(&e, best->id);
    i += best->len;
    piece = s + i;
  }
  encode_piece(&e, piece, s + len);

  if (e.pend != e.pend_stack) sl_free(e.pend);
  if (e.word != e.word_stack) sl_free(e.word);
  if (seen) *seen = e.seen ? e.seen : out->n - e.base;
  return e.oom ? sl_oom(err) : SL_OK;
}

static int check_utf8(const char *text, size_t len, const char *what, sl_err *err) {
  size_t bad;
  if (len && !sl_utf8_valid(text, len, &bad)) {
    return sl_fail(err, "%s is not valid UTF-8 at byte %zu", what, bad);
  }
  return SL_OK;
}

int sl_tokenizer_encode(const sl_tokenizer *tok, const char *text, size_t len,
                        sl_tokens *out, sl_err *err) {
  if (check_utf8(text, len, "text", err)) return SL_ERROR;
  return encode_text(tok, text, len, out, 0, NULL, err);
}

int sl_tokenizer_encode_single(const sl_tokenizer *tok, const char *text, size_t len,
                               size_t max_len, sl_tokens *out, size_t *n_full, sl_err *err) {
  if (max_len < 2) return sl_fail(err, "max_len %zu leaves no room for [CLS] and [SEP]", max_len);
  if (check_utf8(text, len, "text", err)) return SL_ERROR;
  out->n = 0;
  if (tokens_reserve(out, 64)) return sl_oom(err);
  out->ids[out->n++] = tok->cls_id;
  if (encode_text(tok, text, len, out, 0, NULL, err)) return SL_ERROR;
  size_t n = out->n - 1;
  if (n_full) *n_full = n + 2;
  if (n > max_len - 2) n = max_len - 2;
  out->n = 1 + n;
  if (tokens_reserve(out, out->n + 1)) return sl_oom(err);
  out->ids[out->n++] = tok->sep_id;
  return SL_OK;
}

/* Hugging Face's `longest_first` for a pair of lengths: how many tokens of each to
** keep so that both fit in `budget`. Cut only the longer one if the shorter keeps
** all; otherwise the longer one gets the odd token (the second on a tie). */
static void longest_first(size_t na, size_t nb, size_t budget, size_t *ka, size_t *kb) {
  int swap = na > nb;
  size_t n1 = swap ? nb : na, n2;   /* n1: the shorter */
  *ka = na;
  *kb = nb;
  if (na + nb <= budget) return;
  n2 = n1 > budget ? n1 : (n1 > budget - n1 ? n1 : budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swap) {
    size_t t = n1;
    n1 = n2;
    n2 = t;
  }
  if (n1 < na) *ka = n1;
  if (n2 < nb) *kb = n2;
}

int sl_tokenizer_encode_pair(const sl_tokenizer *tok, const char *a, size_t a_len,
                             const char *b, size_t b_len, size_t max_len,
                             sl_tokens *out, sl_tokens *type_ids, size_t *n_full,
                             sl_err *err) {
  if (max_len < 3) {
    return sl_fail(err, "max_len %zu leaves no room for [CLS], [SEP] and [SEP]", max_len);
  }
  if (check_utf8(a, a_len, "first text", err) || check_utf8(b, b_len, "second text", err)) {
    return SL_ERROR;
  }
  out->n = 0;
  type_ids->n = 0;
  if (tokens_reserve(out, 64)) return sl_oom(err);
  out->ids[out->n++] = tok->cls_id;
  /* Hugging Face's tokenizers (checked on 0.23.2) stops tokenizing a text with
  ** truncation on once a word ends at max_len tokens or more (special tokens count
  ** but do not stop it), and longest_first compares those lengths, not the full
  ** ones. Only the split of an odd budget between two such long texts depends on it,
  ** but that is what the model then sees. */
  size_t seen_a, seen_b;
  if (encode_text(tok, a, a_len, out, max_len, &seen_a, err)) return SL_ERROR;
  size_t na = out->n - 1;
  if (encode_text(tok, b, b_len, out, max_len, &seen_b, err)) return SL_ERROR;
  size_t nb = out->n - 1 - na, ka, kb;
  if (n_full) *n_full = na + nb + 3;
  longest_first(seen_a, seen_b, max_len - 3, &ka, &kb);
  if (ka > na) ka = na;
  if (kb > nb) kb = nb;

  /* [CLS] a... b...  becomes  [CLS] a[0..ka) [SEP] b[0..kb) [SEP]. */
  size_t n = ka + kb + 3;
  if (tokens_reserve(out, out->n + 2) || tokens_reserve(type_ids, n)) {
    return sl_oom(err);
  }
  memmove(out->ids + 2 + ka, out->ids + 1 + na, kb * sizeof *out->ids);
  out->ids[1 + ka] = tok->sep_id;
  out->ids[2 + ka + kb] = tok->sep_id;
  out->n = n;
  for (size_t i = 0; i < n; i++) type_ids->ids[i] = i < ka + 2 ? 0 : 1;
  type_ids->n = n;
  return SL_OK;
}

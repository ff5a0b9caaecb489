/*
** test_tokenizer.c: tests of the WordPiece tokenizer (ext/engine/tokenizer.c).
**
** The reference rows of ../shared/reference (made by Hugging Face's tokenizers) must
** match exactly: every id, type id and untruncated length. The focused cases pin what
** those rows cannot show on their own: error messages, vocabulary file quirks, the
** config switches, truncation at small lengths, and use from several threads. Their
** expected ids are what Hugging Face's tokenizers 0.23.2 returns for the same input.
*/
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "../ext/engine/tokenizer.h"
#include "test.h"

static sl_tokenizer *load_minilm(void) {
  char path[1024];
  sl_tokenizer_config cfg;
  sl_tokenizer *tok = NULL;
  sl_err err;
  snprintf(path, sizeof path, "%s/models/all-MiniLM-L6-v2/vocab.txt", sl_test_shared_dir());
  sl_tokenizer_config_default(&cfg);
  if (sl_tokenizer_load(path, &cfg, &tok, &err) != SL_OK) {
    sl_test_fail(__FILE__, __LINE__, "cannot load %s: %s", path, err.msg);
    return NULL;
  }
  return tok;
}

/* Reads a whole file; NULL on failure. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0;
  if (!f) return NULL;
  for (;;) {
    if (n == cap) {
      char *b = realloc(buf, cap = cap ? cap * 2 : 1 << 16);
      if (!b) break;
      buf = b;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    if (!got) break;
    n += got;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* The reference files, one JSON object per '\n'-terminated line, read with
** SQLite's JSON functions. */
typedef struct ref_file {
  char *data;
  size_t len, pos;
  sqlite3 *db;
  sqlite3_stmt *field, *array;
} ref_file;

static int ref_open(ref_file *r, const char *name) {
  char path[1024];
  memset(r, 0, sizeof *r);
  snprintf(path, sizeof path, "%s/reference/%s", sl_test_shared_dir(), name);
  r->data = slurp(path, &r->len);
  if (!r->data) {
    sl_test_fail(__FILE__, __LINE__, "cannot read %s", path);
    return 0;
  }
  if (sqlite3_open(":memory:", &r->db) != SQLITE_OK
      || sqlite3_prepare_v2(r->db, "SELECT json_extract(?1, ?2)", -1, &r->field, NULL)
      || sqlite3_prepare_v2(r->db, "SELECT value FROM json_each(?1, ?2)", -1, &r->array, NULL)) {
    sl_test_fail(__FILE__, __LINE__, "sqlite: %s", sqlite3_errmsg(r->db));
    return 0;
  }
  return 1;
}

static void ref_close(ref_file *r) {
  sqlite3_finalize(r->field);
  sqlite3_finalize(r->array);
  sqlite3_close(r->db);
  free(r->data);
}

/* Next line as (line, n); 0 at the end. */
static int ref_next(ref_file *r, const char **line, size_t *n) {
  if (r->pos >= r->len) return 0;
  const char *s = r->data + r->pos, *nl = memchr(s, '\n', r->len - r->pos);
  *line = s;
  *n = nl ? (size_t)(nl - s) : r->len - r->pos;
  r->pos += *n + 1;
  return 1;
}

/* A string field, copied into a malloc'd buffer (caller frees); *n gets its length. */
static char *ref_text(ref_file *r, const char *line, size_t n, const char *field, size_t *len) {
  char *out = NULL;
  sqlite3_bind_text(r->field, 1, line, (int)n, SQLITE_STATIC);
  sqlite3_bind_text(r->field, 2, field, -1, SQLITE_STATIC);
  if (sqlite3_step(r->field) == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(r->field, 0);
    *len = (size_t)sqlite3_column_bytes(r->field, 0);
    out = malloc(*len + 1);
    if (out) {
      memcpy(out, t ? (const char *)t : "", *len);
      out[*len] = 0;
    }
  }
  sqlite3_reset(r->field);
  return out;
}

static long long ref_int(ref_file *r, const char *line, size_t n, const char *field) {
  long long v = -1;
  sqlite3_bind_text(r->field, 1, line, (int)n, SQLITE_STATIC);
  sqlite3_bind_text(r->field, 2, field, -1, SQLITE_STATIC);
  if (sqlite3_step(r->field) == SQLITE_ROW) v = sqlite3_column_int64(r->field, 0);
  sqlite3_reset(r->field);
  return v;
}

/* An integer array field; returns its length (at most cap values stored). */
static size_t ref_ints(ref_file *r, const char *line, size_t n, const char *field,
                       int32_t *vals, size_t cap) {
  size_t k = 0;
  sqlite3_bind_text(r->array, 1, line, (int)n, SQLITE_STATIC);
  sqlite3_bind_text(r->array, 2, field, -1, SQLITE_STATIC);
  while (sqlite3_step(r->array) == SQLITE_ROW) {
    if (k < cap) vals[k] = (int32_t)sqlite3_column_int64(r->array, 0);
    k++;
  }
  sqlite3_reset(r->array);
  return k;
}

/* Reports the first difference between got and want. */
static int same_ids(const char *id, const char *what, const int32_t *got, size_t ngot,
                    const int32_t *want, size_t nwant) {
  size_t i = 0;
  while (i < ngot && i < nwant && got[i] == want[i]) i++;
  if (i == ngot && i == nwant) return 1;
  sl_test_fail(__FILE__, __LINE__, "%s: %s differ at %zu (got %zu ids, want %zu): %ld, want %ld",
               id, what, i, ngot, nwant, i < ngot ? (long)got[i] : -1L,
               i < nwant ? (long)want[i] : -1L);
  return 0;
}

static void test_embed_reference(void) {
  sl_tokenizer *tok = load_minilm();
  ref_file r = {0};
  const char *line;
  size_t n, rows = 0;
  int32_t want[600];
  sl_tokens out = {0}, raw = {0};
  if (!tok || !ref_open(&r, "embed.jsonl")) goto done;
  while (ref_next(&r, &line, &n)) {
    size_t tlen, idlen, full = 0;
    char *id = ref_text(&r, line, n, "$.id", &idlen);
    char *text = ref_text(&r, line, n, "$.text", &tlen);
    long long n_tokens = ref_int(&r, line, n, "$.n_tokens");
    size_t nwant = ref_ints(&r, line, n, "$.ids", want, 600);
    size_t njs = ref_ints(&r, line, n, "$.ids_transformers_js", NULL, 0);
    sl_err err;
    rows++;
    /* On the rows where transformers.js differs from the Rust tokenizer, n_tokens was
    ** counted on the transformers.js ids; those rows are short, so the Rust length is
    ** that of `ids`. */
    if (njs) {
      CHECK_MSG(n_tokens == (long long)njs, "%s: n_tokens %lld is not the transformers.js length",
                id, n_tokens);
      n_tokens = (long long)nwant;
    }
    if (!id || !text || nwant > 600) {
      sl_test_fail(__FILE__, __LINE__, "row %zu unreadable", rows);
    } else if (sl_tokenizer_encode_single(tok, text, tlen, 256, &out, &full, &err) != SL_OK) {
      sl_test_fail(__FILE__, __LINE__, "%s: %s", id, err.msg);
    } else {
      same_ids(id, "ids", out.ids, out.n, want, nwant);
      CHECK_MSG((long long)full == n_tokens, "%s: n_full %zu, want %lld", id, full, n_tokens);
      /* The bare encoding is the same tokens, untruncated. */
      raw.n = 0;
      CHECK(sl_tokenizer_encode(tok, text, tlen, &raw, &err) == SL_OK);
      CHECK_MSG(raw.n + 2 == full, "%s: encode gave %zu tokens", id, raw.n);
      if (raw.n + 2 == full && nwant >= 2) {
        same_ids(id, "bare ids", raw.ids, raw.n < nwant - 2 ? raw.n : nwant - 2, want + 1,
                 nwant - 2);
      }
    }
    free(id);
    free(text);
  }
  CHECK_INT(rows, 121);
done:
  ref_close(&r);
  sl_tokens_free(&out);
  sl_tokens_free(&raw);
  sl_tokenizer_free(tok);
}

static void test_rerank_reference(void) {
  sl_tokenizer *tok = load_minilm();
  ref_file r = {0};
  const char *line;
  size_t n, rows = 0;
  int32_t want[600], want_types[600], kept[4];
  sl_tokens out = {0}, types = {0};
  if (!tok || !ref_open(&r, "rerank.jsonl")) goto done;
  while (ref_next(&r, &line, &n)) {
    size_t qlen, dlen, idlen, full = 0;
    char *id = ref_text(&r, line, n, "$.id", &idlen);
    char *q = ref_text(&r, line, n, "$.query", &qlen);
    char *d = ref_text(&r, line, n, "$.doc", &dlen);
    long long n_tokens = ref_int(&r, line, n, "$.n_tokens");
    size_t nwant = ref_ints(&r, line, n, "$.ids", want, 600);
    size_t ntypes = ref_ints(&r, line, n, "$.type_ids", want_types, 600);
    size_t nkept = ref_ints(&r, line, n, "$.kept", kept, 4);
    sl_err err;
    rows++;
    if (!id || !q || !d || nwant > 600 || ntypes != nwant || nkept != 2) {
      sl_test_fail(__FILE__, __LINE__, "row %zu unreadable", rows);
    } else if (sl_tokenizer_encode_pair(tok, q, qlen, d, dlen, 512, &out, &types, &full, &err)
               != SL_OK) {
      sl_test_fail(__FILE__, __LINE__, "%s: %s", id, err.msg);
    } else {
      same_ids(id, "ids", out.ids, out.n, want, nwant);
      same_ids(id, "type ids", types.ids, types.n, want_types, ntypes);
      CHECK_MSG((long long)full == n_tokens, "%s: n_full %zu, want %lld", id, full, n_tokens);
      size_t zeros = 0;
      for (size_t i = 0; i < types.n; i++) zeros += types.ids[i] == 0;
      CHECK_MSG(out.n == (size_t)kept[0] + kept[1] + 3 && zeros == (size_t)kept[0] + 2,
                "%s: kept %d + %d, got %zu ids, %zu of type 0", id, kept[0], kept[1], out.n,
                zeros);
    }
    free(id);
    free(q);
    free(d);
  }
  CHECK_INT(rows, 56);
done:
  ref_close(&r);
  sl_tokens_free(&out);
  sl_tokens_free(&types);
  sl_tokenizer_free(tok);
}

/* Writes a vocabulary file to a fresh temporary path (caller unlinks). */
static int write_vocab(char *path, size_t cap, const char *content) {
  const char *dir = getenv("TMPDIR");
  snprintf(path, cap, "%s/semlite-vocab-XXXXXX", dir && *dir ? dir : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) {
    sl_test_fail(__FILE__, __LINE__, "mkstemp failed");
    return 0;
  }
  size_t n = strlen(content);
  int ok = write(fd, content, n) == (ssize_t)n;
  close(fd);
  if (!ok) sl_test_fail(__FILE__, __LINE__, "cannot write %s", path);
  return ok;
}

#define SPECIALS "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"

/* Loads a vocabulary given as text with the given config (NULL: defaults). */
static sl_tokenizer *load_text(const char *content, const sl_tokenizer_config *cfg, sl_err *err) {
  char path[512];
  sl_tokenizer *tok = NULL;
  err->msg[0] = 0;
  if (!write_vocab(path, sizeof path, content)) return NULL;
  sl_tokenizer_load(path, cfg, &tok, err);
  unlink(path);
  return tok;
}

/* Encodes text with no special tokens added and compares with want (-1 ends it). */
static void check_encode(const sl_tokenizer *tok, const char *text, const int32_t *want,
                         int line) {
  sl_tokens out = {0};
  sl_err err;
  size_t n = 0;
  while (want[n] >= 0) n++;
  if (sl_tokenizer_encode(tok, text, strlen(text), &out, &err) != SL_OK) {
    sl_test_fail(__FILE__, line, "\"%s\": %s", text, err.msg);
  } else {
    size_t i = 0;
    while (i < out.n && i < n && out.ids[i] == want[i]) i++;
    if (i != out.n || i != n) {
      sl_test_fail(__FILE__, line, "\"%s\": ids differ at %zu (got %zu ids, want %zu)", text, i,
                   out.n, n);
    }
  }
  sl_tokens_free(&out);
}
#define CHECK_ENCODE(tok, text, ...) \
  do { static const int32_t want_[] = {__VA_ARGS__, -1}; \
       check_encode(tok, text, want_, __LINE__); } while (0)

static void test_invalid_utf8(void) {
  static const struct { const char *text; size_t len, at; } cases[] = {
    {"abc\x80", 4, 3},           /* lone continuation byte */
    {"a\xC0\x80", 3, 1},         /* overlong NUL */
    {"ab\xE0\x80\xAF", 5, 2},    /* overlong 3-byte */
    {"\xED\xA0\x80", 3, 0},      /* surrogate */
    {"ok \xF4\x90\x80\x80", 7, 3}, /* above U+10FFFF */
    {"\xF5\x80\x80\x80", 4, 0},  /* invalid lead byte */
    {"caf\xC3", 4, 3},           /* truncated at the end */
    {"hello world \xE2\x82", 14, 12},
    {"abcdefghijklmnopq\xFF", 18, 17},
  };
  sl_tokenizer *tok = load_minilm();
  sl_tokens out = {0}, types = {0};
  sl_err err;
  char want[128];
  size_t full;
  if (!tok) return;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(want, sizeof want, "text is not valid UTF-8 at byte %zu", cases[i].at);
    CHECK(sl_tokenizer_encode(tok, cases[i].text, cases[i].len, &out, &err) == SL_ERROR);
    CHECK_STR(err.msg, want);
    CHECK(sl_tokenizer_encode_single(tok, cases[i].text, cases[i].len, 256, &out, &full, &err)
          == SL_ERROR);
    CHECK_STR(err.msg, want);
  }
  CHECK(sl_tokenizer_encode_pair(tok, "ok", 2, "\xC3(", 2, 512, &out, &types, &full, &err)
        == SL_ERROR);
  CHECK_STR(err.msg, "second text is not valid UTF-8 at byte 0");
  CHECK(sl_tokenizer_encode_pair(tok, "a\xE2\x82\xACz\x80", 6, "ok", 2, 512, &out, &types, &full,
                                 &err) == SL_ERROR);
  CHECK_STR(err.msg, "first text is not valid UTF-8 at byte 5");
  /* Valid edges: the largest code point, a 4-byte emoji, U+FFFF. */
  CHECK(sl_tokenizer_encode(tok, "\xF4\x8F\xBF\xBF \xF0\x9F\x98\x80 \xEF\xBF\xBF", 13, &out, &err)
        == SL_OK);
  sl_tokens_free(&out);
  sl_tokens_free(&types);
  sl_tokenizer_free(tok);
}

static void test_load_errors(void) {
  sl_tokenizer *tok = (sl_tokenizer *)&tok; /* not NULL: a failed load must clear it */
  sl_tokenizer_config cfg;
  sl_err err;
  char want[600];
  sl_tokenizer_config_default(&cfg);

  CHECK(sl_tokenizer_load("/nonexistent/semlite/vocab.txt", &cfg, &tok, &err) == SL_ERROR);
  CHECK(tok == NULL);
  CHECK_STR(err.msg, "cannot open vocabulary file /nonexistent/semlite/vocab.txt: no such file");

  /* Every special token of the config must be in the vocabulary. */
  char path[512];
  if (write_vocab(path, sizeof path, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n")) {
    CHECK(sl_tokenizer_load(path, &cfg, &tok, &err) == SL_ERROR);
    snprintf(want, sizeof want, "special token [MASK] is not in vocabulary file %s", path);
    CHECK_STR(err.msg, want);
    cfg.mask_token = NULL; /* not required */
    CHECK(sl_tokenizer_load(path, &cfg, &tok, &err) == SL_OK);
    sl_tokenizer_free(tok);
    cfg.unk_token = "<unk>";
    CHECK(sl_tokenizer_load(path, &cfg, &tok, &err) == SL_ERROR);
    snprintf(want, sizeof want, "special token <unk> is not in vocabulary file %s", path);
    CHECK_STR(err.msg, want);
    unlink(path);
  }
  sl_tokenizer_config_default(&cfg);
  cfg.cls_token = NULL;
  CHECK(load_text(SPECIALS, &cfg, &err) == NULL);
  CHECK_STR(err.msg, "tokenizer config has no cls_token");
  sl_tokenizer_config_default(&cfg);
  cfg.sep_token = "";
  CHECK(load_text(SPECIALS, &cfg, &err) == NULL);
  CHECK_STR(err.msg, "tokenizer config has an empty sep_token");
  sl_tokenizer_config_default(&cfg);
  cfg.max_input_chars_per_word = 0;
  CHECK(load_text(SPECIALS, &cfg, &err) == NULL);
  CHECK_STR(err.msg, "max_input_chars_per_word must be at least 1, not 0");

  if (write_vocab(path, sizeof path, "")) {
    CHECK(sl_tokenizer_load(path, NULL, &tok, &err) == SL_ERROR);
    snprintf(want, sizeof want, "vocabulary file %s is empty", path);
    CHECK_STR(err.msg, want);
    unlink(path);
  }
  if (write_vocab(path, sizeof path, SPECIALS "ok\n\xC3\n")) {
    CHECK(sl_tokenizer_load(path, NULL, &tok, &err) == SL_ERROR);
    snprintf(want, sizeof want, "vocabulary file %s is not valid UTF-8 at byte 34", path);
    CHECK_STR(err.msg, want);
    unlink(path);
  }
}

static void test_empty_text(void) {
  sl_tokenizer *tok = load_minilm();
  sl_tokens out = {0}, types = {0};
  sl_err err;
  size_t full = 99;
  if (!tok) return;
  CHECK_INT(sl_tokenizer_vocab_size(tok), 30522);
  CHECK_INT(sl_tokenizer_cls_id(tok), 101);
  CHECK_INT(sl_tokenizer_sep_id(tok), 102);
  CHECK(sl_tokenizer_encode(tok, "", 0, &out, &err) == SL_OK);
  CHECK_INT(out.n, 0);
  CHECK(sl_tokenizer_encode(tok, NULL, 0, &out, &err) == SL_OK);
  CHECK_INT(out.n, 0);
  CHECK(sl_tokenizer_encode(tok, " \t\x01\xC2\xA0", 5, &out, &err) == SL_OK);
  CHECK_INT(out.n, 0);
  CHECK(sl_tokenizer_encode_single(tok, "", 0, 256, &out, &full, &err) == SL_OK);
  CHECK_INT(out.n, 2);
  CHECK_INT(full, 2);
  CHECK(out.ids[0] == 101 && out.ids[1] == 102);
  /* An empty doc is still a pair; so is an empty query. */
  CHECK(sl_tokenizer_encode_pair(tok, "hi", 2, "", 0, 512, &out, &types, &full, &err) == SL_OK);
  CHECK_INT(out.n, 4);
  CHECK_INT(full, 4);
  CHECK(out.ids[0] == 101 && out.ids[1] == 7632 && out.ids[2] == 102 && out.ids[3] == 102);
  CHECK(types.n == 4 && types.ids[0] == 0 && types.ids[2] == 0 && types.ids[3] == 1);
  CHECK(sl_tokenizer_encode_pair(tok, "", 0, "", 0, 512, &out, &types, &full, &err) == SL_OK);
  CHECK(out.n == 3 && types.n == 3 && types.ids[1] == 0 && types.ids[2] == 1);
  sl_tokens_free(&out);
  sl_tokens_free(&types);
  sl_tokenizer_free(tok);
}

/* The cases the reference rows pin, plus the Unicode corners found by running the
** Rust library on every code point (see tools/gen_unicode_tables.py). */
static void test_normalization(void) {
  sl_tokenizer *tok = load_minilm();
  if (!tok) return;
  CHECK_ENCODE(tok, "Hello, World!", 7592, 1010, 2088, 999);
  CHECK_ENCODE(tok, "[CLS][SEP]x[MASK][PAD][UNK]", 101, 102, 1060, 103, 0, 100);
  CHECK_ENCODE(tok, "[SEP", 1031, 19802);
  CHECK_ENCODE(tok, "\xC4\xB0stanbul", 9960);      /* U+0130 -> i + U+0307, mark dropped */
  CHECK_ENCODE(tok, "\xE2\x84\xAB", 1037);         /* ANGSTROM SIGN -> A + ring -> a */
  CHECK_ENCODE(tok, "a\xCC\x81\x07\xCC\x80", 1037); /* BEL dropped before NFD */
  CHECK_ENCODE(tok, "x\xE1\xA2\x85", 100);         /* U+1885: Lo in Unicode 8.0, kept */
  CHECK_ENCODE(tok, "a\xE1\x9C\xB4", 1037);        /* U+1734: Mn in 8.0 (Mc now), dropped */
  CHECK_ENCODE(tok, "a\xE1\x99\xAD" "b", 1037, 100, 1038); /* U+166D: punctuation in 8.0 */
  CHECK_ENCODE(tok, "a\xE0\xA2\x90" "b", 100);     /* U+0890 (Cf since 14.0) is kept */
  CHECK_ENCODE(tok, "a\xE2\x80\x8B" "b", 11113);   /* ZWSP is Cf: dropped, "ab" */
  CHECK_ENCODE(tok, "a\xC2\x85" "b", 11113);       /* NEL is Cc: dropped, not a space */
  CHECK_ENCODE(tok, "\xEF\xA4\x80", 100);          /* U+F900 -> U+8C48, alone */
  CHECK_ENCODE(tok, "\xF0\xAB\xA0\xA0\xF0\xAB\xA0\xA0", 100); /* U+2B820: not "Chinese" */
  CHECK_ENCODE(tok, "\xF0\xA0\x80\x80\xF0\xA0\x80\x80", 100, 100);
  sl_tokenizer_free(tok);
}

static void test_wordpiece(void) {
  sl_err err;
  sl_tokenizer *tok = load_text(SPECIALS "ba\n##na\nb\n##a\n##n\nnan\na\n", NULL, &err);
  CHECK_MSG(tok != NULL, "%s", err.msg);
  if (!tok) return;
  CHECK_ENCODE(tok, "banana", 5, 6, 6);
  CHECK_ENCODE(tok, "nanana", 10, 8, 6);
  CHECK_ENCODE(tok, "bananax b", 1, 7);  /* an unmatched piece makes the whole word [UNK] */
  CHECK_ENCODE(tok, "ba,na", 5, 1, 1);   /* "," and "na" are not in the vocabulary */
  sl_tokenizer_free(tok);

  /* Duplicates: the later line wins. CRLF and trailing spaces are trimmed. */
  tok = load_text(SPECIALS "dup\nx \r\ndup\r\n", NULL, &err);
  CHECK_MSG(tok != NULL, "%s", err.msg);
  if (tok) {
    CHECK_INT(sl_tokenizer_vocab_size(tok), 8);
    CHECK_ENCODE(tok, "dup x", 7, 6);
    sl_tokenizer_free(tok);
  }

  /* max_input_chars_per_word counts characters after normalization. */
  sl_tokenizer_config cfg;
  sl_tokenizer_config_default(&cfg);
  cfg.max_input_chars_per_word = 3;
  tok = load_text(SPECIALS "e\n##e\n", &cfg, &err);
  CHECK_MSG(tok != NULL, "%s", err.msg);
  if (tok) {
    CHECK_ENCODE(tok, "eee", 5, 6, 6);
    CHECK_ENCODE(tok, "eeee", 1);
    CHECK_ENCODE(tok, "e\xCC\x81" "e\xCC\x81\xC3\xA9", 5, 6, 6); /* marks stripped first */
    sl_tokenizer_free(tok);
  }
  /* A limit beyond the stack word buffer (accents kept, so the word stays é...é). */
  cfg.max_input_chars_per_word = 1000;
  cfg.strip_accents = 0;
  tok = load_text(SPECIALS "\xC3\xA9\n##\xC3\xA9\n", &cfg, &err);
  CHECK_MSG(tok != NULL, "%s", err.msg);
  if (tok) {
    char text[2 * 1001 + 1];
    sl_tokens out = {0};
    for (int i = 0; i < 1001; i++) memcpy(text + 2 * i, "\xC3\xA9", 2);
    CHECK(sl_tokenizer_encode(tok, text, 2000, &out, &err) == SL_OK);
    CHECK_MSG(out.n == 1000 && out.ids[0] == 5 && out.ids[999] == 6, "%zu ids: %d ... %d", out.n,
              out.ids[0], out.ids[out.n - 1]);
    out.n = 0;
    CHECK(sl_tokenizer_encode(tok, text, 2002, &out, &err) == SL_OK);
    CHECK(out.n == 1 && out.ids[0] == 1);
    sl_tokens_free(&out);
    sl_tokenizer_free(tok);
  }
}

/* Appends `times` copies of piece to buf, which holds *n bytes of room cap. */
static void append(char *buf, size_t *n, size_t cap, const char *piece, int times) {
  for (int i = 0; i < times; i++) *n += (size_t)snprintf(buf + *n, cap - *n, "%s", piece);
}

/* Canonical ordering of a run of combining marks longer than the stack buffer: the
** Mn (U+0301) go, the others sort by class (U+1D165: 216, U+302E: 224, U+1D16D: 226). */
static void test_long_mark_run(void) {
  static const char c216[] = "\xF0\x9D\x85\xA5", c224[] = "\xE3\x80\xAE",
                    c226[] = "\xF0\x9D\x85\xAD", c230[] = "\xCC\x81";
  char vocab[1024], text[1024], group[32];
  size_t nv = 0, nt = 0;
  sl_err err;
  append(vocab, &nv, sizeof vocab, SPECIALS "a\n##", 1);
  append(vocab, &nv, sizeof vocab, c216, 20);
  append(vocab, &nv, sizeof vocab, c224, 20);
  append(vocab, &nv, sizeof vocab, c226, 20);
  append(vocab, &nv, sizeof vocab, "b\n", 1);
  snprintf(group, sizeof group, "%s%s%s%s", c226, c230, c224, c216);
  append(text, &nt, sizeof text, "a", 1);
  append(text, &nt, sizeof text, group, 20);
  append(text, &nt, sizeof text, "b", 1);
  sl_tokenizer *tok = load_text(vocab, NULL, &err);
  CHECK_MSG(tok != NULL, "%s", err.msg);
  if (!tok) return;
  CHECK_ENCODE(tok, text, 5, 6);
  sl_tokenizer_free(tok);
}

static void test_config_switches(void) {
  /* ids 5 Café, 6 café, 7 cafe, 8 Cafe, 9 世界, 10 世, 11 界, 12 a, 13 b */
  static const char vocab[] = SPECIALS "Caf\xC3\xA9\ncaf\xC3\xA9\ncafe\nCafe\n"
                                       "\xE4\xB8\x96\xE7\x95\x8C\n\xE4\xB8\x96\n"
                                       "\xE7\x95\x8C\na\nb\n";
  sl_tokenizer_config cfg;
  sl_err err;
  sl_tokenizer *tok;

  sl_tokenizer_config_default(&cfg); /* uncased: lowercase, accents stripped */
  tok = load_text(vocab, &cfg, &err);
  CHECK_MSG(tok != NULL, "%s", err.msg);
  if (tok) {
    CHECK_ENCODE(tok, "Caf\xC3\xA9 \xE4\xB8\x96\xE7\x95\x8C", 7, 10, 11);
    sl_tokenizer_free(tok);
  }
  cfg.lowercase = 0; /* cased: strip_accents null follows lowercase, so accents stay */
  tok = load_text(vocab, &cfg, &err);
  if (tok) {
    CHECK_ENCODE(tok, "Caf\xC3\xA9 caf\xC3\xA9", 5, 6);
    sl_tokenizer_free(tok);
  }
  cfg.strip_accents = 1;
  tok = load_text(vocab, &cfg, &err);
  if (tok) {
    CHECK_ENCODE(tok, "Caf\xC3\xA9", 8);
    sl_tokenizer_free(tok);
  }
  sl_tokenizer_config_default(&cfg);
  cfg.strip_accents = 0;
  tok = load_text(vocab, &cfg, &err);
  if (tok) {
    CHECK_ENCODE(tok, "CAF\xC3\x89", 6); /* lowercase without NFD keeps the precomposed é */
    sl_tokenizer_free(tok);
  }
  sl_tokenizer_config_default(&cfg);
  cfg.handle_chinese_chars = 0;
  tok = load_text(vocab, &cfg, &err);
  if (tok) {
    CHECK_ENCODE(tok, "\xE4\xB8\x96\xE7\x95\x8C", 9);
    sl_tokenizer_free(tok);
  }
  sl_tokenizer_config_default(&cfg);
  cfg.clean_text = 0; /* controls stay in the word; whitespace still splits */
  tok = load_text(vocab, &cfg, &err);
  if (tok) {
    CHECK_ENCODE(tok, "a\x01" "b a\x0B" "b", 1, 12, 13);
    sl_tokenizer_free(tok);
  }
}

static void test_truncation(void) {
  sl_err err;
  sl_tokenizer *tok = load_text(SPECIALS "a\nb\n", NULL, &err);
  sl_tokens out = {0}, types = {0};
  size_t full;
  CHECK_MSG(tok != NULL, "%s", err.msg);
  if (!tok) return;
  /* ids: [CLS] 2, [SEP] 3, a 5, b 6. */
  CHECK(sl_tokenizer_encode_single(tok, "a a a", 5, 4, &out, &full, &err) == SL_OK);
  CHECK(out.n == 4 && out.ids[0] == 2 && out.ids[1] == 5 && out.ids[2] == 5 && out.ids[3] == 3);
  CHECK_INT(full, 5);
  CHECK(sl_tokenizer_encode_single(tok, "a a a", 5, 2, &out, &full, &err) == SL_OK);
  CHECK(out.n == 2 && out.ids[1] == 3);
  CHECK(sl_tokenizer_encode_single(tok, "a", 1, 1, &out, &full, &err) == SL_ERROR);
  CHECK_STR(err.msg, "max_len 1 leaves no room for [CLS] and [SEP]");
  CHECK(sl_tokenizer_encode_pair(tok, "a", 1, "b", 1, 2, &out, &types, &full, &err) == SL_ERROR);
  CHECK_STR(err.msg, "max_len 2 leaves no room for [CLS], [SEP] and [SEP]");

  /* Hugging Face's longest_first, as its own unit test has it (7 = 10 - 3). */
  static const struct { int na, nb, ka, kb; } cases[] = {
    {0, 0, 0, 0}, {0, 2, 0, 2}, {0, 8, 0, 7}, {2, 8, 2, 5}, {4, 4, 3, 4}, {4, 8, 3, 4},
    {8, 0, 7, 0}, {8, 2, 5, 2}, {8, 4, 4, 3}, {8, 8, 3, 4}, {2, 4, 2, 4},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char a[64] = "", b[64] = "";
    for (int k = 0; k < cases[i].na; k++) strcat(a, "a ");
    for (int k = 0; k < cases[i].nb; k++) strcat(b, "b ");
    if (sl_tokenizer_encode_pair(tok, a, strlen(a), b, strlen(b), 10, &out, &types, &full, &err)) {
      sl_test_fail(__FILE__, __LINE__, "%s", err.msg);
      continue;
    }
    size_t ka = cases[i].ka, kb = cases[i].kb, n = ka + kb + 3;
    CHECK_MSG(out.n == n && types.n == n, "case %zu: %zu ids", i, out.n);
    CHECK_INT(full, cases[i].na + cases[i].nb + 3);
    if (out.n != n || types.n != n) continue;
    for (size_t k = 0; k < n; k++) {
      int32_t want = k == 0 ? 2 : k <= ka ? 5 : k == ka + 1 ? 3 : k < n - 1 ? 6 : 3;
      CHECK_MSG(out.ids[k] == want, "case %zu: id %zu is %d, want %d", i, k, out.ids[k], want);
      CHECK_MSG(types.ids[k] == (k >= ka + 2), "case %zu: type id %zu", i, k);
    }
  }
  /* max_len 3: both texts lose everything. */
  CHECK(sl_tokenizer_encode_pair(tok, "a", 1, "b b", 3, 3, &out, &types, &full, &err) == SL_OK);
  CHECK(out.n == 3 && out.ids[1] == 3 && out.ids[2] == 3 && types.ids[2] == 1);
  sl_tokens_free(&out);
  sl_tokens_free(&types);
  sl_tokenizer_free(tok);
}

/* Runs a pair and checks how many tokens of each text were kept. */
static void check_kept(const sl_tokenizer *tok, const char *a, const char *b, size_t max_len,
                       size_t ka, size_t kb, int line) {
  sl_tokens out = {0}, types = {0};
  sl_err err;
  size_t full, ta = 0;
  if (sl_tokenizer_encode_pair(tok, a, strlen(a), b, strlen(b), max_len, &out, &types, &full,
                               &err) != SL_OK) {
    sl_test_fail(__FILE__, line, "%s", err.msg);
  } else {
    for (size_t i = 0; i < types.n; i++) ta += types.ids[i] == 0;
    if (out.n != ka + kb + 3 || ta != ka + 2) {
      sl_test_fail(__FILE__, line, "kept %zu + %zu, want %zu + %zu", ta - 2, out.n - ta - 1, ka,
                   kb);
    }
  }
  sl_tokens_free(&out);
  sl_tokens_free(&types);
}

/* Hugging Face's tokenizers 0.23.2 stops tokenizing each text of a truncated pair once
** a word ends at max_len tokens or more, and longest_first compares those lengths; the
** expected splits are what that library returns. */
static void test_truncation_early_stop(void) {
  sl_tokenizer *tok = load_minilm();
  char a[2048], b[2048];
  if (!tok) return;
  check_kept(tok, "a a a a a", "b b b b", 4, 0, 1, __LINE__);        /* both seen as 4 */
  check_kept(tok, "a a a [SEP] a", "b b b b b b", 4, 1, 0, __LINE__); /* 5 against 4 */
  check_kept(tok, "a a a a a a", "b b b [SEP] b", 4, 0, 1, __LINE__); /* 4 against 5 */
  a[0] = b[0] = 0;
  for (int i = 0; i < 20; i++) strcat(a, "unaffable "); /* una ##ffa ##ble: seen as 9 */
  for (int i = 0; i < 100; i++) strcat(b, "b ");
  check_kept(tok, a, b, 8, 3, 2, __LINE__);
  check_kept(tok, b, a, 8, 2, 3, __LINE__);
  sl_tokenizer_free(tok);
}

/* The tokenizer is shared by threads: all of them must get the same ids. */
typedef struct thread_job {
  const sl_tokenizer *tok;
  const char *text;
  const int32_t *want;
  size_t nwant;
  int bad;
} thread_job;

static void *encode_many(void *arg) {
  thread_job *job = arg;
  sl_tokens out = {0};
  sl_err err;
  for (int i = 0; i < 300; i++) {
    out.n = 0;
    if (sl_tokenizer_encode(job->tok, job->text, strlen(job->text), &out, &err) != SL_OK
        || out.n != job->nwant || memcmp(out.ids, job->want, out.n * sizeof *out.ids) != 0) {
      job->bad++;
    }
  }
  sl_tokens_free(&out);
  return NULL;
}

static void test_threads(void) {
  static const char *texts[4] = {
    "Crème brûlée à São Paulo avec Dvořák",
    "每个人都有自己的梦想。 hello世界",
    "İstanbul ΟΔΟΣ Привет, мир! 안녕하세요",
    "à\xCC\x81\xCC\x82\xCC\x83 \xE1\xBA\xA0\xCC\x88 tokenization embeddings",
  };
  sl_tokenizer *tok = load_minilm();
  sl_tokens want[4] = {{0}};
  thread_job jobs[4];
  pthread_t th[4];
  sl_err err;
  if (!tok) return;
  for (int i = 0; i < 4; i++) {
    CHECK(sl_tokenizer_encode(tok, texts[i], strlen(texts[i]), &want[i], &err) == SL_OK);
    jobs[i] = (thread_job){tok, texts[i], want[i].ids, want[i].n, 0};
  }
  for (int i = 0; i < 4; i++) CHECK(pthread_create(&th[i], NULL, encode_many, &jobs[i]) == 0);
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK_INT(jobs[i].bad, 0);
    sl_tokens_free(&want[i]);
  }
  sl_tokenizer_free(tok);
}

const sl_test tokenizer_tests[] = {
  {"embed_reference", test_embed_reference},
  {"rerank_reference", test_rerank_reference},
  {"invalid_utf8", test_invalid_utf8},
  {"load_errors", test_load_errors},
  {"empty_text", test_empty_text},
  {"normalization", test_normalization},
  {"wordpiece", test_wordpiece},
  {"long_mark_run", test_long_mark_run},
  {"config_switches", test_config_switches},
  {"truncation", test_truncation},
  {"truncation_early_stop", test_truncation_early_stop},
  {"threads", test_threads},
  {0, 0},
};

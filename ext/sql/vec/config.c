/*
** config.c: the CREATE VIRTUAL TABLE ... USING semlite_vec(...) language (config.h),
** the SQL it turns into (the declared table, the shadow tables, the facts T_info
** records), and the check metadata values go through on their way in (vectors are
** read by ../sql_vec.c). Text in, text out: it runs no statement.
**
** Arguments, one per comma-separated item (case-insensitive keywords):
**   name float[N] | int8[N] | bit[N] [distance_metric=l2|cosine|dot|l1|hamming]
**                                         a vector column (up to 16; the first
**                                         has the quantizer and embed_from)
**   name text | integer | float | boolean   a metadata column: stored typed, filterable
**   +name [type]                           an auxiliary column: stored, returned only
**   model=NAME, embed_from=COLUMN          embed that TEXT column on insert
**   chunk_size=N                           vectors per chunk (multiple of 8)
**   quantizer=none|int8|binary, oversample=N
** Made with the module name vec0 (sqlite-vec's dialect, cfg->vec0), the table's first
** column is `rowid` (or the `id integer primary key` it declares), and sqlite-vec's
** spellings are read too:
**   name float[N] indexed by rescore(quantizer=int8|bit[, oversample=N])
**   name integer|text partition key        a metadata column T_rowids indexes
** and, in either dialect, an approximate graph index on the first vector column (float,
** l2/cosine/dot; index_hnsw.h):
**   name float[N] indexed by hnsw([m=16][, ef_construction=200][, ef_search=64])
** or sqlite-vec's inverted-file index (index_ivf.h; nprobe above nlist is an error):
**   name float[N] indexed by ivf([nlist=128][, nprobe=10])
** Each option may be given once.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vector/hnsw.h"
#include "../../vector/ivf.h"
#include "config.h"

/* ---- names ---- */

static const struct { const char *name; sl_vec_type type; } vec_types[] = {
  {"float", SL_VEC_F32}, {"float32", SL_VEC_F32}, {"f32", SL_VEC_F32},
  {"int8", SL_VEC_I8}, {"i8", SL_VEC_I8}, {"bit", SL_VEC_BIT},
};
static const struct { const char *name; sl_metric metric; } metrics[] = {
  {"l2", SL_METRIC_L2}, {"l1", SL_METRIC_L1}, {"cosine", SL_METRIC_COSINE},
  {"dot", SL_METRIC_DOT}, {"hamming", SL_METRIC_HAMMING},
};
static const struct { const char *name; vv_type type; const char *sql; } meta_types[] = {
  {"text", VV_TEXT, "TEXT"}, {"integer", VV_INTEGER, "INTEGER"}, {"int", VV_INTEGER, "INTEGER"},
  {"int64", VV_INTEGER, "INTEGER"},
  {"float", VV_FLOAT, "REAL"}, {"real", VV_FLOAT, "REAL"}, {"double", VV_FLOAT, "REAL"},
  {"boolean", VV_BOOLEAN, "INTEGER"}, {"bool", VV_BOOLEAN, "INTEGER"}, {"blob", VV_BLOB, "BLOB"},
};

int vv_metric_parse(const char *s, sl_metric *out) {
  for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
    if (sqlite3_stricmp(s, metrics[i].name) == 0) { *out = metrics[i].metric; return 1; }
  return 0;
}

int vv_vec_type_parse(const char *s, sl_vec_type *out) {
  for (size_t i = 0; i < sizeof vec_types / sizeof vec_types[0]; i++)
    if (sqlite3_stricmp(s, vec_types[i].name) == 0) { *out = vec_types[i].type; return 1; }
  return 0;
}

int vv_quant_parse(const char *s, sl_quant *out) {
  if (sqlite3_stricmp(s, "none") == 0) *out = SL_QUANT_NONE;
  else if (sqlite3_stricmp(s, "int8") == 0) *out = SL_QUANT_INT8;
  else if (sqlite3_stricmp(s, "binary") == 0) *out = SL_QUANT_BINARY;
  else return 0;
  return 1;
}

static const char *quant_name(sl_quant q) {
  return q == SL_QUANT_INT8 ? "int8" : q == SL_QUANT_BINARY ? "binary" : "none";
}

static const char *meta_type_name(vv_type t) {
  static const char *names[] = {"text", "integer", "float", "boolean", "blob", "any"};
  return names[t];
}

static const char *meta_type_sql(vv_type t) {
  for (size_t i = 0; i < sizeof meta_types / sizeof meta_types[0]; i++)
    if (meta_types[i].type == t) return meta_types[i].sql;
  return "";
}

/* ---- lexing one argument ---- */

#define TOK_MAX 16
#define TOK_LEN 256

typedef struct arg_tokens {
  int n;
  char text[TOK_MAX][TOK_LEN];
  int quoted[TOK_MAX];   /* was written as "..." or '...' (never a keyword or '+') */
} arg_tokens;

/* Splits an argument into words, quoted strings and '=' (a token of its own). */
static int lex(const char *s, arg_tokens *t, sl_err *err) {
  t->n = 0;
  while (*s) {
    size_t len = 0;
    if (isspace((unsigned char)*s)) { s++; continue; }
    if (t->n == TOK_MAX) return sl_fail(err, "too many words in '%s'", s);
    t->quoted[t->n] = 0;
    /* '=' is a token of its own, and so is the '+' of +"quoted name". */
    if (*s == '=' || (*s == '+' && (s[1] == '"' || s[1] == '\'' || s[1] == '`'))) {
      t->text[t->n][0] = *s++;
      t->text[t->n++][1] = 0;
      continue;
    }
    if (*s == '"' || *s == '\'' || *s == '`') {
      char q = *s++;
      for (;;) {
        if (!*s) return sl_fail(err, "unterminated quote in an argument");
        if (*s == q) {
          if (s[1] != q) { s++; break; }
          s++;  /* a doubled quote stands for itself */
        }
        if (len + 1 >= TOK_LEN) return sl_fail(err, "a name or value is longer than %d bytes", TOK_LEN - 1);
        t->text[t->n][len++] = *s++;
      }
      t->quoted[t->n] = 1;
    } else {
      while (*s && !isspace((unsigned char)*s) && *s != '=') {
        if (len + 1 >= TOK_LEN) return sl_fail(err, "a name or value is longer than %d bytes", TOK_LEN - 1);
        t->text[t->n][len++] = *s++;
      }
    }
    t->text[t->n][len] = 0;
    t->n++;
  }
  return SL_OK;
}

static int is_eq(const arg_tokens *t, int i) { return i < t->n && !t->quoted[i] && strcmp(t->text[i], "=") == 0; }

/* ---- parsing ---- */

void vv_config_free(vv_config *cfg) {
  for (int i = 0; i < cfg->n_cols; i++) sqlite3_free(cfg->cols[i].name);
  sqlite3_free(cfg->cols);
  sqlite3_free(cfg->model);
  memset(cfg, 0, sizeof *cfg);
}

static int parse_int(const char *s, long lo, long hi, long *out) {
  char *end;
  long v;
  if (!*s) return 0;
  v = strtol(s, &end, 10);
  if (*end || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

/* "float[384]": 1 with the type and the dimension count, 0 when s is not a vector
** type at all, -1 with err set when it is one with a bad dimension count. */
static int parse_vec_type(const char *s, sl_vec_type *type, size_t *dims, sl_err *err) {
  const char *open = strchr(s, '[');
  char base[32], num[32];
  size_t blen, nlen;
  long d;
  if (!open) return 0;
  blen = (size_t)(open - s);
  nlen = strlen(open + 1);
  if (blen == 0 || blen >= sizeof base || nlen < 2 || nlen >= sizeof num || open[nlen] != ']') return 0;
  memcpy(base, s, blen);
  base[blen] = 0;
  if (!vv_vec_type_parse(base, type)) return 0;
  memcpy(num, open + 1, nlen - 1);
  num[nlen - 1] = 0;
  if (!parse_int(num, 1, VV_MAX_DIMS, &d)) {
    sl_fail(err, "the dimension count in '%s' must be an integer from 1 to %d", s, VV_MAX_DIMS);
    return -1;
  }
  *dims = (size_t)d;
  return 1;
}

static int reserved_name(const char *name) {
  static const char *names[] = {"distance", "k", "rowid", "oid", "_rowid_"};
  /* (vec0's own `rowid` column is added by vv_config_parse, after the user's) */
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (sqlite3_stricmp(name, names[i]) == 0) return 1;
  return 0;
}

static int column_index(const vv_config *cfg, const char *name) {
  for (int i = 0; i < cfg->n_cols; i++)
    if (sqlite3_stricmp(cfg->cols[i].name, name) == 0) return i;
  return -1;
}

static int add_column(vv_config *cfg, const char *name, vv_kind kind, vv_type type, sl_err *err) {
  vv_column *cols;
  if (reserved_name(name)) return sl_fail(err, "'%s' is a reserved column name", name);
  if (column_index(cfg, name) >= 0) return sl_fail(err, "could not declare virtual table, 'duplicate column name: %s'", name);
  cols = sqlite3_realloc64(cfg->cols, (cfg->n_cols + 1) * sizeof *cols);
  if (!cols) return sl_oom(err);
  cfg->cols = cols;
  cols[cfg->n_cols].name = sqlite3_mprintf("%s", name);
  if (!cols[cfg->n_cols].name) return sl_oom(err);
  cols[cfg->n_cols].kind = kind;
  cols[cfg->n_cols].type = type;
  cols[cfg->n_cols].slot = kind == VV_META ? cfg->n_meta++ : kind == VV_AUX ? cfg->n_aux++ : 0;
  cols[cfg->n_cols].partition = cols[cfg->n_cols].text_key = cols[cfg->n_cols].vec = 0;
  cfg->n_cols++;
  return SL_OK;
}

static int parse_column(vv_config *cfg, const arg_tokens *t, sl_err *err) {
  const char *name = t->text[0];
  int i = 1, aux = 0;
  sl_vec_type vtype;
  size_t dims;
  int rc;

  if (!t->quoted[0] && name[0] == '+') {
    aux = 1;
    if (name[1]) name++;
    else if (t->n > 1 && !is_eq(t, 1)) name = t->text[i++];
    else return sl_fail(err, "'+' must be followed by a column name");
  }
  if (!*name) return sl_fail(err, "empty column name");
  /* sqlite-vec's limits, checked before the rest of the argument as it does */
  if (cfg->vec0 && aux && cfg->n_aux == VV_VEC0_MAX_AUX)
    return sl_fail(err, "More than %d auxiliary columns were provided", VV_VEC0_MAX_AUX);
  if (aux) {
    vv_type type = VV_ANY;
    if (i < t->n) {
      size_t j;
      for (j = 0; j < sizeof meta_types / sizeof meta_types[0]; j++)
        if (sqlite3_stricmp(t->text[i], meta_types[j].name) == 0) break;
      if (j == sizeof meta_types / sizeof meta_types[0])
        return sl_fail(err, "auxiliary column '%s' has an unknown type '%s' (text, integer, float, boolean, blob)",
                       name, t->text[i]);
      type = meta_types[j].type;
      i++;
    }
    if (i < t->n) return sl_fail(err, "unexpected '%s' after auxiliary column '%s'", t->text[i], name);
    return add_column(cfg, name, VV_AUX, type, err);
  }
  if (i >= t->n)
    return sl_fail(err, "Could not parse '%s': a column needs a name and a type (float[N], int8[N], bit[N], text, integer, "
                   "float, boolean)", name);
  rc = parse_vec_type(t->text[i], &vtype, &dims, err);
  if (rc < 0) {  /* in sqlite-vec's words first, then which rule */
    sl_err why = *err;
    return sl_fail(err, "could not parse vector column '%s %s': %s", name, t->text[i], why.msg);
  }
  if (rc > 0) {
    int have_metric = 0;
    sl_metric metric = vtype == SL_VEC_BIT ? SL_METRIC_HAMMING : SL_METRIC_L2;
    if (cfg->n_vecs == VV_MAX_VECTORS) return sl_fail(err, "Too many provided vector columns, maximum %d", VV_MAX_VECTORS);
    for (i++; i < t->n; i += 3) {
      if (!is_eq(t, i + 1) || i + 2 >= t->n)
        return sl_fail(err, "expected option=value after '%s %s', got '%s'", name, t->text[1], t->text[i]);
      if (sqlite3_stricmp(t->text[i], "distance_metric") != 0)
        return sl_fail(err, "unknown vector column option '%s' (distance_metric)", t->text[i]);
      if (have_metric++) return sl_fail(err, "distance_metric is given twice for column '%s'", name);
      if (!vv_metric_parse(t->text[i + 2], &metric))
        return sl_fail(err, "unknown distance_metric '%s' (l2, cosine, dot, l1, hamming)", t->text[i + 2]);
    }
    if (cfg->vec_col < 0) {
      cfg->type = vtype;
      cfg->dims = dims;
      cfg->metric = metric;
      cfg->vec_col = cfg->n_cols;
    } else {
      if (sl_knn_check_config(vtype, dims, metric, SL_QUANT_NONE, err)) return SL_ERROR;
      cfg->vecs[cfg->n_vecs] = (vv_vector){.col = cfg->n_cols, .type = vtype, .dims = dims, .metric = metric};
    }
    if ((rc = add_column(cfg, name, VV_VECTOR, VV_ANY, err)) == SL_OK) cfg->cols[cfg->n_cols - 1].vec = cfg->n_vecs++;
    return rc;
  }
  for (size_t j = 0; j < sizeof meta_types / sizeof meta_types[0]; j++) {
    if (sqlite3_stricmp(t->text[i], meta_types[j].name) == 0 && meta_types[j].type != VV_BLOB) {
      int two = i + 3 == t->n && !t->quoted[i + 1] && !t->quoted[i + 2] && sqlite3_stricmp(t->text[i + 2], "key") == 0;
      if (cfg->vec0 && two && sqlite3_stricmp(t->text[i + 1], "primary") == 0) {
        if (meta_types[j].type != VV_INTEGER && meta_types[j].type != VV_TEXT)
          return sl_fail(err, "primary key '%s' must be integer or text, not %s", name, t->text[i]);
        if (cfg->key_col >= 0 || cfg->text_key >= 0)
          return sl_fail(err, "More than one primary key definition was provided, vec0 only suports a single primary "
                         "key column ('%s' and '%s')", /* sic, sqlite-vec's text */
                         cfg->cols[cfg->key_col >= 0 ? cfg->key_col : cfg->text_key].name, name);
        if (meta_types[j].type == VV_TEXT) {
          /* a unique TEXT column beside an internal rowid */
          cfg->text_key = cfg->n_cols;
          if ((rc = add_column(cfg, name, VV_META, VV_TEXT, err)) == SL_OK) cfg->cols[cfg->n_cols - 1].text_key = 1;
          return rc;
        }
        cfg->key_col = cfg->n_cols;
        return add_column(cfg, name, VV_KEY, VV_INTEGER, err);
      }
      if (cfg->vec0 && two && sqlite3_stricmp(t->text[i + 1], "partition") == 0) {
        int parts = 0;
        for (int c = 0; c < cfg->n_cols; c++) parts += cfg->cols[c].partition;
        if (parts == VV_VEC0_MAX_PARTITION)
          return sl_fail(err, "More than %d partition key columns were provided", VV_VEC0_MAX_PARTITION);
        if (meta_types[j].type != VV_INTEGER && meta_types[j].type != VV_TEXT)
          return sl_fail(err, "partition key '%s' must be integer or text, not %s", name, t->text[i]);
        if ((rc = add_column(cfg, name, VV_META, meta_types[j].type, err)) == SL_OK) cfg->cols[cfg->n_cols - 1].partition = 1;
        return rc;
      }
      if (cfg->vec0) {
        int metas = 0;
        for (int c = 0; c < cfg->n_cols; c++)
          metas += cfg->cols[c].kind == VV_META && !cfg->cols[c].partition && !cfg->cols[c].text_key;
        if (metas == VV_VEC0_MAX_META) return sl_fail(err, "More than %d metadata columns were provided", VV_VEC0_MAX_META);
      }
      if (i + 1 < t->n) return sl_fail(err, "unexpected '%s' after column '%s %s'", t->text[i + 1], name, t->text[i]);
      return add_column(cfg, name, VV_META, meta_types[j].type, err);
    }
  }
  return sl_fail(err, "column '%s' has an unknown type '%s' (float[N], int8[N], bit[N], text, integer, float, boolean)",
                 name, t->text[i]);
}

static int parse_option(vv_config *cfg, const char *key, const char *value, char **embed_from,
                        int *have_oversample, unsigned *seen, sl_err *err) {
  static const char *const keys[] = {"model", "embed_from", "chunk_size", "quantizer", "oversample"};
  long v;
  for (unsigned j = 0; j < sizeof keys / sizeof keys[0]; j++) {
    if (sqlite3_stricmp(key, keys[j]) != 0) continue;
    if (*seen & (1u << j)) return sl_fail(err, "%s is given twice", keys[j]);
    *seen |= 1u << j;
  }
  if (sqlite3_stricmp(key, "model") == 0) {
    sqlite3_free(cfg->model);
    if (!(cfg->model = sqlite3_mprintf("%s", value))) return sl_oom(err);
  } else if (sqlite3_stricmp(key, "embed_from") == 0) {
    sqlite3_free(*embed_from);
    if (!(*embed_from = sqlite3_mprintf("%s", value))) return sl_oom(err);
  } else if (sqlite3_stricmp(key, "chunk_size") == 0) {
    if (!parse_int(value, 8, VV_MAX_CHUNK, &v) || v % 8) {  /* sqlite-vec's words first, then the rule */
      long any;
      const char *why = !parse_int(value, 1, 0x7fffffffL, &any) ? "chunk_size must be a non-zero positive integer"
                        : any % 8                                 ? "chunk_size must be divisible by 8"
                                                                  : "chunk_size is too large";
      return sl_fail(err, "%s: a multiple of 8 from 8 to %d, got '%s'", why, VV_MAX_CHUNK, value);
    }
    cfg->chunk_size = (int)v;
  } else if (sqlite3_stricmp(key, "quantizer") == 0) {
    if (!vv_quant_parse(value, &cfg->quant))
      return sl_fail(err, "unknown quantizer '%s' (none, int8, binary)", value);
  } else if (sqlite3_stricmp(key, "oversample") == 0) {
    if (!parse_int(value, 1, VV_MAX_OVERSAMPLE, &v))
      return sl_fail(err, "oversample must be an integer from 1 to %d, got '%s'", VV_MAX_OVERSAMPLE, value);
    cfg->oversample = (int)v;
    *have_oversample = 1;
  } else if (sqlite3_stricmp(key, "distance_metric") == 0) {
    return sl_fail(err, "distance_metric belongs to the vector column: 'embedding float[384] distance_metric=%s'", value);
  } else {
    return sl_fail(err, "Unknown table option: %s (model, embed_from, chunk_size, quantizer, oversample)", key);
  }
  return SL_OK;
}

/* One option of `indexed by rescore(...)`. */
static int rescore_option(vv_config *cfg, const char *key, const char *value, int *have_oversample, unsigned *seen,
                          sl_err *err) {
  long v;
  if (sqlite3_stricmp(key, "quantizer") == 0) {
    if (*seen & 8u) return sl_fail(err, "quantizer is given twice");
    *seen |= 8u;
    if (sqlite3_stricmp(value, "bit") == 0 || sqlite3_stricmp(value, "binary") == 0) cfg->quant = SL_QUANT_BINARY;
    else if (sqlite3_stricmp(value, "int8") == 0) cfg->quant = SL_QUANT_INT8;
    else return sl_fail(err, "unknown rescore quantizer '%s' (int8, bit)", value);
  } else if (sqlite3_stricmp(key, "oversample") == 0) {
    if (*seen & 16u) return sl_fail(err, "oversample is given twice");
    *seen |= 16u;
    if (!parse_int(value, 1, VV_MAX_OVERSAMPLE, &v))
      return sl_fail(err, "oversample must be an integer from 1 to %d, got '%s'", VV_MAX_OVERSAMPLE, value);
    cfg->oversample = (int)v;
    *have_oversample = 1;
  } else {
    return sl_fail(err, "unknown rescore option '%s' (quantizer, oversample)", key);
  }
  return SL_OK;
}

/* One option of `indexed by hnsw(...)` on column col. */
static int hnsw_option(vv_config *cfg, const char *col, const char *key, const char *value, unsigned *seen,
                       sl_err *err) {
  static const struct { const char *name; long lo, hi; } opts[] = {
    {"m", 2, SL_HNSW_MAX_M}, {"ef_construction", 1, SL_HNSW_MAX_EF}, {"ef_search", 1, SL_HNSW_MAX_EF}};
  long v;
  for (unsigned j = 0; j < sizeof opts / sizeof opts[0]; j++) {
    if (sqlite3_stricmp(key, opts[j].name) != 0) continue;
    if (*seen & (64u << j)) return sl_fail(err, "column %s: hnsw option %s is given twice", col, opts[j].name);
    *seen |= 64u << j;
    if (!parse_int(value, opts[j].lo, opts[j].hi, &v))
      return sl_fail(err, "column %s: hnsw option %s must be an integer from %ld to %ld, got '%s'", col, opts[j].name,
                     opts[j].lo, opts[j].hi, value);
    if (j == 0) cfg->hnsw_m = (int)v;
    else if (j == 1) cfg->hnsw_ef_construction = (int)v;
    else cfg->hnsw_ef_search = (int)v;
    return SL_OK;
  }
  return sl_fail(err, "column %s: unknown hnsw option '%s' (m, ef_construction, ef_search)", col, key);
}

/* `indexed by rescore(quantizer=int8|bit[, oversample=N])` (sqlite-vec's) or `indexed by
** hnsw([m=N][, ef_construction=N][, ef_search=N])` after a vector column: found in arg
** outside quotes, parsed into cfg, and cut off (*cut: where it starts, or NULL when arg
** has none). */
/* One option of `indexed by ivf(...)` (sqlite-vec's nlist and nprobe; index_ivf.h). */
static int ivf_option(vv_config *cfg, const char *col, const char *key, const char *value, unsigned *seen, sl_err *err) {
  long v;
  int j = sqlite3_stricmp(key, "nlist") == 0 ? 0 : sqlite3_stricmp(key, "nprobe") == 0 ? 1 : -1;
  if (j < 0) return sl_fail(err, "column %s: unknown ivf option '%s' (nlist, nprobe)", col, key);
  if (*seen & (512u << j)) return sl_fail(err, "column %s: ivf option %s is given twice", col, key);
  *seen |= 512u << j;
  if (!parse_int(value, 1, SL_IVF_MAX_NLIST, &v))
    return sl_fail(err, "column %s: ivf option %s must be an integer from 1 to %d, got '%s'", col, j ? "nprobe" : "nlist",
                   SL_IVF_MAX_NLIST, value);
  if (j == 0) cfg->ivf_nlist = (int)v;
  else cfg->ivf_nprobe = (int)v;
  return SL_OK;
}

static int index_clause(const char *arg, const char **cut, vv_config *cfg, int *have_oversample, unsigned *seen,
                        sl_err *err) {
  const char *p = arg, *q;
  char quote = 0, col[64];
  int hnsw, ivf = 0;
  const char *iname;
  size_t n;
  *cut = NULL;
  for (; *p; p++) {
    if (quote) { if (*p == quote) quote = 0; continue; }
    if (*p == '"' || *p == '\'' || *p == '`') { quote = *p; continue; }
    if (p > arg && isspace((unsigned char)p[-1]) && sqlite3_strnicmp(p, "indexed", 7) == 0 &&
        (!p[7] || isspace((unsigned char)p[7])))
      break;
  }
  if (!*p) return SL_OK;
  *cut = p;
  for (q = arg; isspace((unsigned char)*q); q++) {}
  n = strcspn(q, " \t\n\r");
  snprintf(col, sizeof col, "%.*s", (int)(n < sizeof col ? n : sizeof col - 1), q);
  for (q = p + 7; isspace((unsigned char)*q); q++) {}
  if (sqlite3_strnicmp(q, "by", 2) != 0 || !isspace((unsigned char)q[2]))
    return sl_fail(err, "expected 'indexed by rescore(...)' or 'indexed by hnsw(...)' in '%s'", arg);
  for (q += 2; isspace((unsigned char)*q); q++) {}
  if (sqlite3_strnicmp(q, "rescore", 7) == 0) hnsw = 0, q += 7;
  else if (sqlite3_strnicmp(q, "hnsw", 4) == 0) hnsw = 1, q += 4;
  else if (sqlite3_strnicmp(q, "ivf", 3) == 0) hnsw = 0, ivf = 1, q += 3;
  else
    return sl_fail(err, "unknown index '%s' (rescore(quantizer=int8|bit, oversample=N), hnsw(m=N, ef_construction=N, "
                   "ef_search=N), ivf(nlist=N, nprobe=N))", q);
  iname = hnsw ? "hnsw" : ivf ? "ivf" : "rescore";
  while (isspace((unsigned char)*q)) q++;
  if (*q != '(') return sl_fail(err, "expected '(' after 'indexed by %s' in '%s'", iname, arg);
  if (hnsw || ivf) {
    if (cfg->hnsw || cfg->ivf) return sl_fail(err, "a vector column takes one 'indexed by hnsw(...)' or 'ivf(...)'");
    cfg->hnsw = hnsw, cfg->ivf = ivf;
  }
  q++;
  for (;;) {
    char key[32], value[32];
    int rc;
    while (isspace((unsigned char)*q)) q++;
    if (*q == ')') break;
    n = strcspn(q, "= \t\n\r,)");
    if (n == 0 || n >= sizeof key) return sl_fail(err, "expected option=value in %s(...) of '%s'", iname, arg);
    memcpy(key, q, n), key[n] = 0, q += n;
    while (isspace((unsigned char)*q)) q++;
    if (*q++ != '=') return sl_fail(err, "expected option=value in %s(...) of '%s'", iname, arg);
    while (isspace((unsigned char)*q)) q++;
    n = strcspn(q, " \t\n\r,)");
    if (n == 0 || n >= sizeof value) return sl_fail(err, "expected option=value in %s(...) of '%s'", iname, arg);
    memcpy(value, q, n), value[n] = 0, q += n;
    rc = hnsw  ? hnsw_option(cfg, col, key, value, seen, err)
         : ivf ? ivf_option(cfg, col, key, value, seen, err)
               : rescore_option(cfg, key, value, have_oversample, seen, err);
    if (rc) return rc;
    while (isspace((unsigned char)*q)) q++;
    if (*q == ',') q++;
    else if (*q != ')') return sl_fail(err, "expected ',' or ')' in %s(...) of '%s'", iname, arg);
  }
  for (q++; isspace((unsigned char)*q); q++) {}
  if (*q) return sl_fail(err, "unexpected '%s' after %s(...)", q, iname);
  if (ivf && (*seen & 1024u) && cfg->ivf_nprobe > cfg->ivf_nlist)
    return sl_fail(err, "column %s: ivf option nprobe=%d exceeds nlist=%d", col, cfg->ivf_nprobe, cfg->ivf_nlist);
  if (ivf && cfg->ivf_nprobe > cfg->ivf_nlist) cfg->ivf_nprobe = cfg->ivf_nlist;  /* the default, as sqlite-vec */
  if (hnsw || ivf) return SL_OK;
  if (!(*seen & 8u)) return sl_fail(err, "rescore(...) needs quantizer=int8 or quantizer=bit");
  if (!*have_oversample) cfg->oversample = VV_RESCORE_OVERSAMPLE;
  return SL_OK;
}

/* vec0's first column: `rowid`, unless an integer primary key was declared. */
static int add_rowid_column(vv_config *cfg, sl_err *err) {
  vv_column *cols = sqlite3_realloc64(cfg->cols, (cfg->n_cols + 1) * sizeof *cols);
  if (!cols) return sl_oom(err);
  cfg->cols = cols;
  memmove(cols + 1, cols, (size_t)cfg->n_cols * sizeof *cols);
  memset(&cols[0], 0, sizeof cols[0]);
  cfg->n_cols++;
  if (cfg->vec_col >= 0) cfg->vec_col++;
  for (int j = 1; j < cfg->n_vecs; j++) cfg->vecs[j].col++;
  if (!(cols[0].name = sqlite3_mprintf("rowid"))) return sl_oom(err);
  cols[0].kind = VV_KEY;
  cols[0].type = VV_INTEGER;
  cfg->key_col = 0;
  return SL_OK;
}

int vv_config_parse(int argc, const char *const *argv, int vec0, vv_config *cfg, sl_err *err) {
  char *embed_from = NULL;
  int have_oversample = 0, rc = SL_OK;
  unsigned seen = 0;
  arg_tokens *t = sqlite3_malloc(sizeof *t);

  memset(cfg, 0, sizeof *cfg);
  cfg->vec_col = cfg->embed_from = cfg->key_col = cfg->text_key = -1;
  cfg->vec0 = vec0;
  cfg->chunk_size = VV_DEFAULT_CHUNK;
  cfg->oversample = VV_DEFAULT_OVERSAMPLE;
  cfg->hnsw_m = SL_HNSW_DEFAULT_M;
  cfg->hnsw_ef_construction = SL_HNSW_DEFAULT_EF_CONSTRUCTION;
  cfg->hnsw_ef_search = SL_HNSW_DEFAULT_EF_SEARCH;
  cfg->ivf_nlist = SL_IVF_DEFAULT_NLIST;
  cfg->ivf_nprobe = SL_IVF_DEFAULT_NPROBE;
  if (!t) return sl_oom(err);
  for (int a = 0; a < argc && rc == SL_OK; a++) {
    const char *cut = NULL;
    char *arg = NULL;
    rc = index_clause(argv[a], &cut, cfg, &have_oversample, &seen, err);
    if (rc == SL_OK && cut && !(arg = sqlite3_mprintf("%.*s", (int)(cut - argv[a]), argv[a])))
      rc = sl_oom(err);
    if (rc == SL_OK) rc = lex(arg ? arg : argv[a], t, err);
    sqlite3_free(arg);
    if (rc) break;
    if (t->n == 0) rc = sl_fail(err, "empty argument");
    else if (cut && (t->n < 2 || is_eq(t, 1) || !strchr(t->text[1], '[')))
      rc = sl_fail(err, "'indexed by' belongs to a vector column: 'embedding float[384] indexed by %s(...)'",
                   cfg->hnsw ? "hnsw" : cfg->ivf ? "ivf" : "rescore");
    else if (cut && cfg->n_vecs > 0)
      rc = sl_fail(err, "'indexed by %s(...)' applies to the first vector column only",
                   cfg->hnsw ? "hnsw" : cfg->ivf ? "ivf" : "rescore");
    else if (is_eq(t, 1)) {
      if (t->n != 3) rc = sl_fail(err, "could not parse table option '%s' (expected option=value)", argv[a]);
      else rc = parse_option(cfg, t->text[0], t->text[2], &embed_from, &have_oversample, &seen, err);
    } else {
      rc = parse_column(cfg, t, err);
    }
  }
  sqlite3_free(t);
  if (rc == SL_OK && cfg->vec_col < 0)
    rc = sl_fail(err, "At least one vector column is required (e.g. 'embedding float[384]')");
  if (rc == SL_OK && vec0 && cfg->key_col < 0 && cfg->text_key < 0) rc = add_rowid_column(cfg, err);
  if (rc == SL_OK)
    rc = sl_knn_check_config(cfg->type, cfg->dims, cfg->metric, cfg->quant, err);
  if (rc == SL_OK && (cfg->hnsw || cfg->ivf) && (cfg->type != SL_VEC_F32 || cfg->metric == SL_METRIC_L1))
    rc = sl_fail(err, "column %s: indexed by %s(...) needs a float vector column with distance_metric l2, cosine "
                 "or dot, not %s with %s", cfg->cols[cfg->vec_col].name, cfg->hnsw ? "hnsw" : "ivf", sl_knn_type_name(cfg->type),
                 sl_knn_metric_name(cfg->metric));
  if (rc == SL_OK && have_oversample && cfg->quant == SL_QUANT_NONE)
    rc = sl_fail(err, "oversample needs a quantizer (quantizer=int8 or quantizer=binary)");
  if (rc == SL_OK && (cfg->model != NULL) != (embed_from != NULL))
    rc = sl_fail(err, cfg->model ? "model= needs embed_from=<text column>" : "embed_from= needs model=<model name>");
  if (rc == SL_OK && embed_from) {
    int c = column_index(cfg, embed_from);
    if (c < 0) rc = sl_fail(err, "embed_from names no column: '%s'", embed_from);
    else if (cfg->cols[c].kind == VV_VECTOR) rc = sl_fail(err, "embed_from must name a text column, not the vector column");
    else if (cfg->cols[c].kind == VV_KEY) rc = sl_fail(err, "embed_from must name a text column, not the key column");
    else if (cfg->cols[c].type != VV_TEXT && cfg->cols[c].type != VV_ANY)
      rc = sl_fail(err, "embed_from column '%s' is %s, not text", embed_from, meta_type_name(cfg->cols[c].type));
    else if (cfg->type != SL_VEC_F32)
      rc = sl_fail(err, "embed_from needs a float vector column, not %s", sl_knn_type_name(cfg->type));
    cfg->embed_from = c;
  }
  sqlite3_free(embed_from);
  if (rc) vv_config_free(cfg);
  return rc;
}

/* ---- SQL text ---- */

char *vv_config_declaration(const vv_config *cfg, const char *name) {
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendall(s, "CREATE TABLE x(");
  for (int i = 0; i < cfg->n_cols; i++) {
    const vv_column *c = &cfg->cols[i];
    const char *type = c->kind == VV_VECTOR ? "BLOB" : c->kind == VV_KEY ? (i == 0 && !strcmp(c->name, "rowid") ? "" : "INTEGER")
                                                                      : meta_type_sql(c->type);
    sqlite3_str_appendf(s, "\"%w\"%s%s, ", c->name, *type ? " " : "", type);
  }
  sqlite3_str_appendall(s, "distance HIDDEN REAL, k HIDDEN INTEGER");
  if ((cfg->hnsw || cfg->ivf) && name && column_index(cfg, name) < 0) sqlite3_str_appendf(s, ", \"%w\" HIDDEN", name);
  sqlite3_str_appendall(s, ")");
  return sqlite3_str_finish(s);
}

char *vv_config_shadow_sql(const vv_config *cfg, const char *schema, const char *name) {
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendf(s,
      "CREATE TABLE \"%w\".\"%w_info\"(key TEXT PRIMARY KEY, value);"
      "CREATE TABLE \"%w\".\"%w_chunks\"(chunk_id INTEGER PRIMARY KEY, version BLOB NOT NULL, validity BLOB NOT NULL, "
      "rowids BLOB NOT NULL, qvectors BLOB, vectors BLOB NOT NULL",
      schema, name, schema, name);
  for (int j = 1; j < cfg->n_vecs; j++) sqlite3_str_appendf(s, ", vectors%d BLOB NOT NULL", j);
  sqlite3_str_appendf(s, ");"
      "CREATE TABLE \"%w\".\"%w_rowids\"(rowid INTEGER PRIMARY KEY, chunk_id INTEGER NOT NULL, "
      "chunk_offset INTEGER NOT NULL", schema, name);
  for (int i = 0; i < cfg->n_cols; i++)
    if (cfg->cols[i].kind == VV_META)
      sqlite3_str_appendf(s, ", m%d %s", cfg->cols[i].slot, meta_type_sql(cfg->cols[i].type));
  /* A partition key's index: as a constraint (always met: rowid is unique) its index is
  ** named after the table and follows it through ALTER TABLE ... RENAME. */
  for (int i = 0; i < cfg->n_cols; i++)
    if (cfg->cols[i].partition) sqlite3_str_appendf(s, ", UNIQUE(m%d, rowid)", cfg->cols[i].slot);
    else if (cfg->cols[i].text_key) sqlite3_str_appendf(s, ", UNIQUE(m%d)", cfg->cols[i].slot);
  sqlite3_str_appendall(s, ");");
  if (cfg->n_aux) {
    sqlite3_str_appendf(s, "CREATE TABLE \"%w\".\"%w_aux\"(rowid INTEGER PRIMARY KEY", schema, name);
    for (int i = 0; i < cfg->n_cols; i++)
      if (cfg->cols[i].kind == VV_AUX)
        sqlite3_str_appendf(s, ", a%d %s", cfg->cols[i].slot, meta_type_sql(cfg->cols[i].type));
    sqlite3_str_appendall(s, ");");
  }
  return sqlite3_str_finish(s);
}

void vv_config_facts(const vv_config *cfg, vv_fact facts[VV_N_FACTS]) {
  static const char *const keys[VV_N_FACTS] = {"version", "type", "dims", "metric", "chunk_size", "quantizer",
                                               "metadata", "auxiliary"};
  for (int i = 0; i < VV_N_FACTS; i++) facts[i].key = keys[i];
  snprintf(facts[0].value, sizeof facts[0].value, "%d", VV_FORMAT_VERSION);
  snprintf(facts[1].value, sizeof facts[1].value, "%s", sl_knn_type_name(cfg->type));
  snprintf(facts[2].value, sizeof facts[2].value, "%zu", cfg->dims);
  snprintf(facts[3].value, sizeof facts[3].value, "%s", sl_knn_metric_name(cfg->metric));
  snprintf(facts[4].value, sizeof facts[4].value, "%d", cfg->chunk_size);
  snprintf(facts[5].value, sizeof facts[5].value, "%s", quant_name(cfg->quant));
  snprintf(facts[6].value, sizeof facts[6].value, "%d", cfg->n_meta);
  snprintf(facts[7].value, sizeof facts[7].value, "%d", cfg->n_aux);
}

char *vv_config_vectors_fact(const vv_config *cfg) {
  sqlite3_str *s = sqlite3_str_new(NULL);
  for (int j = 1; j < cfg->n_vecs; j++)
    sqlite3_str_appendf(s, "%s%s:%lld:%s", j > 1 ? "," : "", sl_knn_type_name(cfg->vecs[j].type),
                        (long long)cfg->vecs[j].dims, sl_knn_metric_name(cfg->vecs[j].metric));
  return sqlite3_str_finish(s);
}

/* ---- values on their way in ---- */

int vv_check_meta(const vv_column *col, sqlite3_value *v, sl_err *err) {
  int t = sqlite3_value_type(v);
  if (col->kind != VV_META || t == SQLITE_NULL) return SL_OK;
  switch (col->type) {
    case VV_TEXT: if (t == SQLITE_TEXT) return SL_OK; break;
    case VV_INTEGER: if (t == SQLITE_INTEGER) return SL_OK; break;
    case VV_FLOAT: if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) return SL_OK; break;
    case VV_BOOLEAN:
      if (t == SQLITE_INTEGER && (sqlite3_value_int64(v) == 0 || sqlite3_value_int64(v) == 1)) return SL_OK;
      if (t == SQLITE_INTEGER) return sl_fail(err, "%s is a boolean column (0 or 1), got %lld", col->name,
                                              (long long)sqlite3_value_int64(v));
      break;
    default: return SL_OK;
  }
  if (col->partition)
    return sl_fail(err, "Partition key type mismatch: The partition key column %s has type %s, but %s was provided.",
                   col->name, col->type == VV_TEXT ? "TEXT" : "INTEGER", sl_sql_type_name(v));
  return sl_fail(err, "%s is a %s column, got %s", col->name, meta_type_name(col->type), sl_sql_type_name(v));
}

/* sqlite-vec's names of the storage classes in its messages (REAL is FLOAT there). */
static const char *vec0_class_name(int t) {
  switch (t) {
    case SQLITE_INTEGER: return "INTEGER";
    case SQLITE_FLOAT: return "FLOAT";
    case SQLITE_TEXT: return "TEXT";
    case SQLITE_BLOB: return "BLOB";
  }
  return "NULL";
}

int vv_check_aux(const vv_column *col, sqlite3_value *v, sl_err *err) {
  static const int want[] = {[VV_TEXT] = SQLITE_TEXT, [VV_INTEGER] = SQLITE_INTEGER, [VV_FLOAT] = SQLITE_FLOAT,
                             [VV_BLOB] = SQLITE_BLOB};
  const int t = sqlite3_value_type(v);
  if (col->kind != VV_AUX || t == SQLITE_NULL || (size_t)col->type >= sizeof want / sizeof want[0] ||
      !want[col->type] || t == want[col->type])
    return SL_OK;
  return sl_fail(err, "Auxiliary column type mismatch: The auxiliary column %s has type %s, but %s was provided.",
                 col->name, vec0_class_name(want[col->type]), vec0_class_name(t));
}

/*
** test_safetensors.c: tests of the safetensors loader (ext/engine/safetensors.c).
**
** The tests build their own file images in memory (u64 header size, header, data),
** so that each rule of the loader is exercised on its own: a valid file read back
** tensor by tensor, then every refusal with its exact message. sl_st_open() is
** tested on files written to TMPDIR (read into a private copy, which a truncation of
** the file does not reach). The generated twins are checked too when they
** exist, but nothing here depends on them.
*/
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "../ext/engine/safetensors.h"
#include "test.h"

/* A file image: size field, header, then data_len bytes of a known pattern. */
typedef struct image {
  unsigned char *buf;
  size_t len;
  size_t data_at;  /* where the data area starts */
} image;

static image build_sized(uint64_t size_field, const char *header, size_t data_len) {
  image im;
  size_t h = strlen(header);
  im.len = 8 + h + data_len;
  im.buf = malloc(im.len);
  im.data_at = 8 + h;
  for (int b = 0; b < 8; b++) im.buf[b] = (unsigned char)(size_field >> (8 * b));
  memcpy(im.buf + 8, header, h);
  for (size_t k = 0; k < data_len; k++) im.buf[8 + h + k] = (unsigned char)(k * 7 + 1);
  return im;
}

static image build(const char *header, size_t data_len) {
  return build_sized(strlen(header), header, data_len);
}

/* Parses the image; returns the message of the refusal, or "" on success (and closes). */
static const char *refusal(image im, sl_err *err) {
  sl_safetensors *st = (sl_safetensors *)1;
  int rc = sl_st_parse(im.buf, im.len, &st, err);
  if (rc == SL_OK) {
    sl_st_close(st);
    return "";
  }
  if (st != NULL) sl_test_fail(__FILE__, __LINE__, "failed parse left a result");
  return err->msg;
}

static void test_valid_file(void) {
  static const char header[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"b.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
    "\"a.bias\":{\"shape\":[3],\"dtype\":\"F16\",\"data_offsets\":[16,22]},"
    "\"c\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[22,24]},"
    "\"pos\":{\"dtype\":\"I64\",\"shape\":[1,3],\"data_offsets\":[24,48]},"
    "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[48,48]}}";
  image im = build(header, 48);
  const float w[4] = {1.0f, -2.5f, 3.25f, 1e-3f};
  const int64_t ids[3] = {0, 1, 2};
  const unsigned char *data = im.buf + im.data_at;
  sl_safetensors *st = NULL;
  sl_err err;
  const sl_tensor *t;
  memcpy(im.buf + im.data_at, w, sizeof w);
  memcpy(im.buf + im.data_at + 24, ids, sizeof ids);

  CHECK_MSG(sl_st_parse(im.buf, im.len, &st, &err) == SL_OK, "refused: %s", err.msg);
  if (!st) {
    free(im.buf);
    return;
  }
  CHECK_INT(st->n_tensors, 5);
  CHECK_INT(st->file_bytes, im.len);
  CHECK_INT(st->file.map_len, 0);       /* borrowed: the caller's buffer */
  CHECK(st->image == im.buf);
  /* Sorted by name, for bsearch. */
  CHECK_STR(st->tensors[0].name, "a.bias");
  CHECK_STR(st->tensors[1].name, "b.weight");
  CHECK_STR(st->tensors[2].name, "c");
  CHECK_STR(st->tensors[3].name, "empty");
  CHECK_STR(st->tensors[4].name, "pos");

  t = sl_st_find(st, "b.weight");
  CHECK(t == &st->tensors[1]);
  if (t) {
    float got[4];
    CHECK_INT(t->dtype, SL_DT_F32);
    CHECK_INT(t->ndim, 2);
    CHECK(t->shape[0] == 2 && t->shape[1] == 2);
    CHECK_INT(t->n_elems, 4);
    CHECK_INT(t->nbytes, 16);
    CHECK(t->data == data);
    memcpy(got, t->data, sizeof got);
    CHECK(memcmp(got, w, sizeof w) == 0);
  }
  t = sl_st_find(st, "a.bias");
  CHECK(t && t->dtype == SL_DT_F16 && t->ndim == 1 && t->shape[0] == 3 && t->n_elems == 3
        && t->nbytes == 6 && t->data == data + 16);
  t = sl_st_find(st, "c");
  CHECK(t && t->dtype == SL_DT_BF16 && t->ndim == 0 && t->n_elems == 1 && t->nbytes == 2
        && t->data == data + 22);
  t = sl_st_find(st, "pos");
  CHECK(t && t->dtype == SL_DT_I64 && t->ndim == 2 && t->shape[0] == 1 && t->shape[1] == 3
        && t->n_elems == 3 && t->nbytes == 24 && t->data == data + 24);
  if (t) {
    int64_t got[3];
    memcpy(got, t->data, sizeof got);
    CHECK(got[0] == 0 && got[1] == 1 && got[2] == 2);
  }
  t = sl_st_find(st, "empty");
  CHECK(t && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 5 && t->n_elems == 0
        && t->nbytes == 0 && t->data == data + 48);

  CHECK(sl_st_find(st, "a") == NULL);
  CHECK(sl_st_find(st, "b.weightx") == NULL);
  CHECK(sl_st_find(st, "__metadata__") == NULL);
  CHECK(sl_st_find(st, "") == NULL);
  CHECK(sl_st_find(st, NULL) == NULL);
  CHECK(sl_st_find(NULL, "c") == NULL);
  sl_st_close(st);
  sl_st_close(NULL);
  free(im.buf);
}

/* Layouts the loader accepts although the reference writer would not produce them. */
static void test_accepted_layouts(void) {
  static const struct { const char *header; size_t data_len; size_t n; } ok[] = {
    /* no tensors at all; only metadata */
    {"{}", 0, 0},
    {"{\"__metadata__\":{}}", 0, 0},
    /* the reference writer pads the header with spaces to 8 bytes */
    {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}      ", 4, 1},
    /* a gap at the start, between tensors and at the end */
    {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
     "\"u\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[16,18]}}", 32, 2},
    /* header order is not offset order */
    {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
     "\"u\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, 2},
    /* empty tensors own no bytes: at the same offset, inside another, at the end */
    {"{\"e1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[2,2]},"
     "\"e2\":{\"dtype\":\"I64\",\"shape\":[3,0],\"data_offsets\":[2,2]},"
     "\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"e3\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[4,4]}}", 4, 4},
    /* a huge dimension times 0 elements; 8 dimensions */
    {"{\"t\":{\"dtype\":\"F32\",\"shape\":[0,4611686018427387904],\"data_offsets\":[0,0]}}", 0, 1},
    {"{\"t\":{\"dtype\":\"F16\",\"shape\":[1,1,1,1,1,1,1,2],\"data_offsets\":[0,4]}}", 4, 1},
    /* metadata anywhere, escapes in names */
    {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"__metadata__\":{\"a\":\"b\",\"c\":\"\"},"
     "\"\\u00e9\\n\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 2},
  };
  for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
    image im = build(ok[k].header, ok[k].data_len);
    sl_safetensors *st = NULL;
    sl_err err;
    CHECK_MSG(sl_st_parse(im.buf, im.len, &st, &err) == SL_OK, "case %zu refused: %s", k, err.msg);
    if (st) {
      CHECK_MSG(st->n_tensors == ok[k].n, "case %zu: %zu tensors", k, st->n_tensors);
      for (size_t i = 0; i < st->n_tensors; i++) {
        const sl_tensor *t = &st->tensors[i];
        CHECK(sl_st_find(st, t->name) == t);
        CHECK((const unsigned char *)t->data >= im.buf + im.data_at
              && (const unsigned char *)t->data + t->nbytes <= im.buf + im.len);
      }
      if (k == 8) CHECK(sl_st_find(st, "\xC3\xA9\n") != NULL);
    }
    sl_st_close(st);
    free(im.buf);
  }
}

#define T_(dtype, shape, offs) "{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

/* Each refusal and its exact message. size_field 0 means the header's length. */
static const struct {
  const char *header;
  size_t data_len;
  uint64_t size_field;
  const char *msg;
} bad[] = {
  /* the frame */
  {"", 0, UINT64_MAX, "header size 18446744073709551615 is over the limit of 16777216 bytes"},
  {"", 0, (uint64_t)1 << 63, "header size 9223372036854775808 is over the limit of 16777216 bytes"},
  {"{}", 0, SL_ST_MAX_HEADER + 1ull, "header size 16777217 is over the limit of 16777216 bytes"},
  {"{}", 90, 1234, "file is truncated: header says 1234 bytes but only 92 follow the header size"},
  {"{}", 0, 3, "file is truncated: header says 3 bytes but only 2 follow the header size"},
  {"", 0, 0, "header does not start with '{'"},
  {" {}", 0, 0, "header does not start with '{'"},
  {"[]", 0, 0, "header does not start with '{'"},
  {"\xEF\xBB\xBF{}", 0, 0, "header does not start with '{'"},
  {"{", 0, 0, "header: invalid JSON at byte 1: unexpected end of input"},
  {"{\"a\" 1}", 0, 0, "header: invalid JSON at byte 5: expected ':'"},
  {"{\"a\":" T_("F32", "[1]", "[0,4]") ",\"a\":" T_("F32", "[1]", "[4,8]") "}", 8, 0,
   "header: invalid JSON at byte 54: duplicate key 'a'"},
  {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0,
   "header: invalid JSON at byte 20: duplicate key 'dtype'"},
  /* metadata */
  {"{\"__metadata__\":[]}", 0, 0, "__metadata__ is not an object"},
  {"{\"__metadata__\":{\"format\":\"pt\",\"n\":1}}", 0, 0, "__metadata__ value of 'n' is not a string"},
  /* names and entries */
  {"{\"\":" T_("F32", "[1]", "[0,4]") "}", 4, 0, "header has a tensor with an empty name"},
  {"{\"a\\u0000b\":" T_("F32", "[1]", "[0,4]") "}", 4, 0, "tensor 'a': name contains a NUL byte"},
  {"{\"x\":1}", 0, 0, "tensor 'x': entry is not an object"},
  {"{\"x\":[\"F32\",[1],[0,4]]}", 4, 0, "tensor 'x': entry is not an object"},
  {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4, 0,
   "tensor 'x': unexpected field 'extra'"},
  {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"dtype\\u0000\":1}}", 4, 0,
   "tensor 'x': unexpected field 'dtype'"},
  {"{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, "tensor 'x': missing field 'dtype'"},
  {"{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, 0, "tensor 'x': missing field 'shape'"},
  {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, 0, "tensor 'x': missing field 'data_offsets'"},
  {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"offsets\":[0,4]}}", 4, 0, "tensor 'x': unexpected field 'offsets'"},
  /* dtype */
  {"{\"x\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, "tensor 'x': dtype is not a string"},
  {"{\"x.w\":" T_("F64", "[1]", "[0,8]") "}", 8, 0,
   "tensor 'x.w': dtype F64 is not supported (semlite reads F32, F16, BF16 and I64)"},
  {"{\"x\":" T_("I32", "[1]", "[0,4]") "}", 4, 0,
   "tensor 'x': dtype I32 is not supported (semlite reads F32, F16, BF16 and I64)"},
  {"{\"x\":" T_("U8", "[1]", "[0,1]") "}", 1, 0,
   "tensor 'x': dtype U8 is not supported (semlite reads F32, F16, BF16 and I64)"},
  {"{\"x\":" T_("BOOL", "[1]", "[0,1]") "}", 1, 0,
   "tensor 'x': dtype BOOL is not supported (semlite reads F32, F16, BF16 and I64)"},
  {"{\"x\":" T_("F8_E4M3", "[1]", "[0,1]") "}", 1, 0,
   "tensor 'x': dtype F8_E4M3 is not supported (semlite reads F32, F16, BF16 and I64)"},
  {"{\"x\":" T_("f32", "[1]", "[0,4]") "}", 4, 0, "tensor 'x': unknown dtype 'f32'"},
  {"{\"x\":" T_("F32\\u0000", "[1]", "[0,4]") "}", 4, 0, "tensor 'x': unknown dtype 'F32'"},
  {"{\"x\":" T_("", "[1]", "[0,4]") "}", 4, 0, "tensor 'x': unknown dtype ''"},
  {"{\"x\":" T_("QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", "[1]", "[0,4]") "}", 4, 0,
   "tensor 'x': unknown dtype 'QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ'"},
  /* shape */
  {"{\"x\":" T_("F32", "4", "[0,16]") "}", 16, 0, "tensor 'x': shape is not an array"},
  {"{\"x\":" T_("F32", "{}", "[0,4]") "}", 4, 0, "tensor 'x': shape is not an array"},
  {"{\"x\":" T_("F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, 0,
   "tensor 'x': shape has 9 dimensions (at most 8 are supported)"},
  {"{\"x\":" T_("F32", "[-1]", "[0,4]") "}", 4, 0, "tensor 'x': shape dimension 0 is not a non-negative integer"},
  {"{\"x\":" T_("F32", "[2,1.0]", "[0,8]") "}", 8, 0, "tensor 'x': shape dimension 1 is not a non-negative integer"},
  {"{\"x\":" T_("F32", "[1e0]", "[0,4]") "}", 4, 0, "tensor 'x': shape dimension 0 is not a non-negative integer"},
  {"{\"x\":" T_("F32", "[\"1\"]", "[0,4]") "}", 4, 0, "tensor 'x': shape dimension 0 is not a non-negative integer"},
  {"{\"x\":" T_("F32", "[1,null]", "[0,4]") "}", 4, 0, "tensor 'x': shape dimension 1 is not a non-negative integer"},
  {"{\"x\":" T_("F32", "[18446744073709551616]", "[0,4]") "}", 4, 0,
   "tensor 'x': shape dimension 0 is not a non-negative integer"},
  {"{\"x\":" T_("F32", "[9223372036854775808]", "[0,4]") "}", 4, 0, "tensor 'x': shape is too large"},
  {"{\"x\":" T_("F32", "[4294967296,4294967296]", "[0,4]") "}", 4, 0, "tensor 'x': shape is too large"},
  {"{\"x\":" T_("F32", "[4611686018427387904]", "[0,4]") "}", 4, 0, "tensor 'x': shape is too large"},
  {"{\"x\":" T_("I64", "[2,1152921504606846976]", "[0,4]") "}", 4, 0, "tensor 'x': shape is too large"},
  /* data_offsets */
  {"{\"x\":" T_("F32", "[1]", "4") "}", 4, 0, "tensor 'x': data_offsets is not [begin, end] of non-negative integers"},
  {"{\"x\":" T_("F32", "[1]", "[4]") "}", 4, 0, "tensor 'x': data_offsets is not [begin, end] of non-negative integers"},
  {"{\"x\":" T_("F32", "[1]", "[0,4,8]") "}", 8, 0, "tensor 'x': data_offsets is not [begin, end] of non-negative integers"},
  {"{\"x\":" T_("F32", "[1]", "[-4,0]") "}", 4, 0, "tensor 'x': data_offsets is not [begin, end] of non-negative integers"},
  {"{\"x\":" T_("F32", "[1]", "[0,4.0]") "}", 4, 0, "tensor 'x': data_offsets is not [begin, end] of non-negative integers"},
  {"{\"x\":" T_("F32", "[1]", "[\"0\",\"4\"]") "}", 4, 0, "tensor 'x': data_offsets is not [begin, end] of non-negative integers"},
  {"{\"x\":" T_("F32", "[1]", "[8,4]") "}", 8, 0, "tensor 'x': data_offsets [8, 4] end before they begin"},
  {"{\"x.weight\":" T_("F32", "[2,2]", "[0,12]") "}", 16, 0,
   "tensor 'x.weight': data_offsets [0, 12] do not match shape [2, 2] of F32 (16 bytes)"},
  {"{\"x\":" T_("BF16", "[]", "[0,4]") "}", 4, 0, "tensor 'x': data_offsets [0, 4] do not match shape [] of BF16 (2 bytes)"},
  {"{\"x\":" T_("I64", "[3,0]", "[0,8]") "}", 8, 0, "tensor 'x': data_offsets [0, 8] do not match shape [3, 0] of I64 (0 bytes)"},
  {"{\"x\":" T_("F32", "[4]", "[0,16]") "}", 8, 0,
   "tensor 'x': data_offsets [0, 16] go past the end of the data area (8 bytes)"},
  {"{\"x\":" T_("F32", "[0]", "[9,9]") "}", 8, 0,
   "tensor 'x': data_offsets [9, 9] go past the end of the data area (8 bytes)"},
  {"{\"x\":" T_("F16", "[1]", "[18446744073709551613,18446744073709551615]") "}", 8, 0,
   "tensor 'x': data_offsets [18446744073709551613, 18446744073709551615] go past the end of the data area (8 bytes)"},
  /* overlaps, whatever the header order */
  {"{\"a\":" T_("F32", "[4]", "[0,16]") ",\"b\":" T_("F32", "[4]", "[8,24]") "}", 24, 0,
   "tensors 'a' and 'b' overlap: data_offsets [0, 16] and [8, 24]"},
  {"{\"b\":" T_("F32", "[1]", "[0,4]") ",\"a\":" T_("F32", "[1]", "[0,4]") "}", 4, 0,
   "tensors 'a' and 'b' overlap: data_offsets [0, 4] and [0, 4]"},
  {"{\"outer\":" T_("F32", "[4]", "[0,16]") ",\"inner\":" T_("F16", "[2]", "[4,8]") "}", 16, 0,
   "tensors 'outer' and 'inner' overlap: data_offsets [0, 16] and [4, 8]"},
  {"{\"c\":" T_("F32", "[1]", "[12,16]") ",\"b\":" T_("F32", "[2]", "[4,12]") ",\"a\":" T_("F32", "[1]", "[0,4]")
   ",\"d\":" T_("F16", "[2]", "[10,14]") "}", 16, 0,
   "tensors 'b' and 'd' overlap: data_offsets [4, 12] and [10, 14]"},
};

static void test_refusals(void) {
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    uint64_t size = bad[k].size_field ? bad[k].size_field : strlen(bad[k].header);
    image im = build_sized(size, bad[k].header, bad[k].data_len);
    sl_err err;
    const char *got = refusal(im, &err);
    CHECK_MSG(strcmp(got, bad[k].msg) == 0, "case %zu: got \"%s\", expected \"%s\"", k, got,
              bad[k].msg);
    free(im.buf);
  }
}

/* Images shorter than the size field, and a NUL-padded header. */
static void test_short_images(void) {
  static const unsigned char seven[7] = {2, 0, 0, 0, 0, 0, 0};
  sl_safetensors *st = (sl_safetensors *)1;
  sl_err err;
  CHECK_INT(sl_st_parse(seven, 0, &st, &err), SL_ERROR);
  CHECK(st == NULL);
  CHECK_STR(err.msg, "file is too small: 0 bytes, less than the 8-byte header size");
  CHECK_INT(sl_st_parse(NULL, 0, &st, &err), SL_ERROR);
  CHECK_STR(err.msg, "file is too small: 0 bytes, less than the 8-byte header size");
  CHECK_INT(sl_st_parse(seven, 7, &st, &err), SL_ERROR);
  CHECK_STR(err.msg, "file is too small: 7 bytes, less than the 8-byte header size");
  CHECK_INT(sl_st_parse(seven, 7, &st, NULL), SL_ERROR);

  /* A header padded with NULs instead of spaces is not JSON (the reference agrees). */
  {
    image im = build_sized(4, "{}", 2);
    im.buf[10] = im.buf[11] = 0;
    CHECK_STR(refusal(im, &err), "header: invalid JSON at byte 2: unexpected data after the top-level value");
    free(im.buf);
  }
}

static void test_long_name_message(void) {
  char header[600], want[300], name[201];
  image im;
  sl_err err;
  memset(name, 'n', 200);
  name[200] = 0;
  memcpy(name + 119, "\xC3\xA9", 2); /* a 2-byte character across the 120-byte clip */
  snprintf(header, sizeof header, "{\"%s\":" T_("Q", "[1]", "[0,4]") "}", name);
  im = build(header, 4);
  snprintf(want, sizeof want, "tensor '%.119s...': unknown dtype 'Q'", name);
  CHECK_STR(refusal(im, &err), want);
  free(im.buf);
}

static void test_dtype_helpers(void) {
  CHECK_STR(sl_dtype_name(SL_DT_F32), "F32");
  CHECK_STR(sl_dtype_name(SL_DT_F16), "F16");
  CHECK_STR(sl_dtype_name(SL_DT_BF16), "BF16");
  CHECK_STR(sl_dtype_name(SL_DT_I64), "I64");
  CHECK_STR(sl_dtype_name((sl_dtype)99), "?");
  CHECK_INT(sl_dtype_size(SL_DT_F32), 4);
  CHECK_INT(sl_dtype_size(SL_DT_F16), 2);
  CHECK_INT(sl_dtype_size(SL_DT_BF16), 2);
  CHECK_INT(sl_dtype_size(SL_DT_I64), 8);
  CHECK_INT(sl_dtype_size((sl_dtype)99), 0);
}

static void test_open(void) {
  char path[512], want[700];
  sl_safetensors *st = NULL;
  sl_err err;
  image im = build("{\"__metadata__\":{\"format\":\"pt\"},\"w\":" T_("F32", "[2]", "[0,8]") "}  ", 8);
  const sl_tensor *t;

  CHECK(t_write_temp(path, sizeof path, im.buf, im.len) == 0);
  CHECK_MSG(sl_st_open(path, &st, &err) == SL_OK, "refused: %s", err.msg);
  if (st) {
    /* A page-aligned copy of the file, which no change to the file reaches. */
    CHECK(st->file.map_len >= im.len && (uintptr_t)st->image % 4096 == 0);
    CHECK_INT(st->file_bytes, im.len);
    CHECK_INT(sl_st_resident(st), im.len);
    CHECK(truncate(path, 0) == 0);
    t = sl_st_find(st, "w");
    CHECK(t && t->nbytes == 8 && memcmp(t->data, im.buf + im.data_at, 8) == 0);
    sl_st_close(st);
  }
  unlink(path);

  /* Truncated on disk: one data byte missing. */
  CHECK(t_write_temp(path, sizeof path, im.buf, im.len - 1) == 0);
  st = (sl_safetensors *)1;
  CHECK_INT(sl_st_open(path, &st, &err), SL_ERROR);
  CHECK(st == NULL);
  snprintf(want, sizeof want, "%s: tensor 'w': data_offsets [0, 8] go past the end of the data area (7 bytes)", path);
  CHECK_STR(err.msg, want);
  unlink(path);

  CHECK(t_write_temp(path, sizeof path, "", 0) == 0);
  CHECK_INT(sl_st_open(path, &st, &err), SL_ERROR);
  snprintf(want, sizeof want, "%s: file is too small: 0 bytes, less than the 8-byte header size", path);
  CHECK_STR(err.msg, want);
  unlink(path);

  CHECK(t_write_temp(path, sizeof path, im.buf, 7) == 0);
  CHECK_INT(sl_st_open(path, &st, &err), SL_ERROR);
  snprintf(want, sizeof want, "%s: file is too small: 7 bytes, less than the 8-byte header size", path);
  CHECK_STR(err.msg, want);
  unlink(path);

  CHECK(t_write_temp(path, sizeof path, im.buf, 8) == 0);
  CHECK_INT(sl_st_open(path, &st, &err), SL_ERROR);
  snprintf(want, sizeof want, "%s: file is truncated: header says %zu bytes but only 0 follow the header size",
           path, im.data_at - 8);
  CHECK_STR(err.msg, want);
  unlink(path);

  CHECK_INT(sl_st_open("/nonexistent/model.safetensors", &st, &err), SL_ERROR);
  CHECK_STR(err.msg, "cannot open /nonexistent/model.safetensors: No such file or directory");
  CHECK_INT(sl_st_open("/", &st, &err), SL_ERROR);
  CHECK_STR(err.msg, "/ is not a regular file");
  CHECK_INT(sl_st_open("/dev/zero", &st, &err), SL_ERROR);
  CHECK_STR(err.msg, "/dev/zero is not a regular file");
  /* Larger than SL_ST_MAX_FILE: refused on its size, before a byte is read (sparse). */
  CHECK(t_write_temp(path, sizeof path, "", 0) == 0);
  CHECK(truncate(path, (off_t)SL_ST_MAX_FILE + 1) == 0);
  CHECK_INT(sl_st_open(path, &st, &err), SL_ERROR);
  snprintf(want, sizeof want, "%s is larger than the 16 GB limit", path);
  CHECK_STR(err.msg, want);
  unlink(path);
  free(im.buf);
}

/* The generated twins, when `make twins` has run: real sizes, the reference writer's
** layout, and the I64 buffer the rerank twin carries. */
static uint64_t checksum(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

static void test_twins(void) {
  char path[1024];
  sl_safetensors *st;
  sl_err err;
  const sl_tensor *t;
  snprintf(path, sizeof path, "%s/minilm-l6-rerank/model.safetensors", sl_test_models_dir());
  if (access(path, R_OK) != 0) return;
  CHECK_MSG(sl_st_open(path, &st, &err) == SL_OK, "%s", err.msg);
  if (!st) return;
  t = sl_st_find(st, "bert.embeddings.position_ids");
  CHECK(t && t->dtype == SL_DT_I64 && t->ndim == 2 && t->shape[0] == 1 && t->shape[1] == 512);
  if (t) {
    int64_t last;
    memcpy(&last, (const char *)t->data + 511 * 8, 8);
    CHECK(last == 511);
  }
  t = sl_st_find(st, "bert.embeddings.word_embeddings.weight");
  CHECK(t && t->dtype == SL_DT_F32 && t->shape[0] == 30522 && t->shape[1] == 384);
  if (t) {
    /* The file is a private copy, all of it in RAM; sl_st_release gives a tensor's
    ** pages back (they read as zeros then). */
    uint64_t before = checksum(t->data, t->nbytes);
    size_t touched = sl_st_resident(st), released;
    CHECK_INT(touched, st->file_bytes);
    sl_st_release(st, t->data, t->nbytes);
    released = sl_st_resident(st);
    CHECK_MSG(touched - released >= t->nbytes - 8192 && touched - released <= t->nbytes,
              "resident %zu bytes after reading, %zu after release (tensor %zu)", touched, released, t->nbytes);
    CHECK(checksum(t->data, t->nbytes) != before);
    sl_st_release(st, (const char *)t->data - 4096, 8);     /* outside or partial pages: nothing */
  }
  sl_st_close(st);
}

const sl_test safetensors_tests[] = {
  {"valid_file", test_valid_file},
  {"accepted_layouts", test_accepted_layouts},
  {"refusals", test_refusals},
  {"short_images", test_short_images},
  {"long_name_message", test_long_name_message},
  {"dtype_helpers", test_dtype_helpers},
  {"open", test_open},
  {"twins", test_twins},
  {0, 0},
};

/*
** fingerprint.c: a loaded model's fingerprint (fingerprint.h).
*/
#include "fingerprint.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "models.h"

/* Hashes of weight folders already read, keyed by the files' size, mtime and inode. */
typedef struct memo {
  char folder[4096];
  struct stat st_weights, st_vocab;
  char hex[33];
} memo;

#define N_MEMO 16
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static memo memos[N_MEMO];
static int n_memo, next_memo;

static int same_file(const struct stat *a, const struct stat *b) {
  return a->st_size == b->st_size && a->st_mtime == b->st_mtime && a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

static int hash_into(XXH3_state_t *st, const char *path, sl_err *err) {
  FILE *f = fopen(path, "rb");
  static const size_t cap = 1 << 20;
  unsigned char *buf;
  size_t n;
  int failed;
  if (!f) return sl_fail(err, "cannot read '%s'", path);
  if (!(buf = malloc(cap))) {
    fclose(f);
    return sl_fail(err, "out of memory");
  }
  while ((n = fread(buf, 1, cap, f)) > 0) XXH3_128bits_update(st, buf, n);
  failed = ferror(f);
  free(buf);
  fclose(f);
  return failed ? sl_fail(err, "cannot read '%s'", path) : SL_OK;
}

static int weights_hash(const char *folder, char hex[33], sl_err *err) {
  char wpath[4200], vpath[4200];
  struct stat sw, sv;
  XXH3_state_t st;
  XXH128_canonical_t c;
  snprintf(wpath, sizeof wpath, "%s/model.safetensors", folder);
  snprintf(vpath, sizeof vpath, "%s/vocab.txt", folder);
  if (stat(wpath, &sw) != 0) return sl_fail(err, "cannot read '%s'", wpath);
  if (stat(vpath, &sv) != 0) return sl_fail(err, "cannot read '%s'", vpath);
  pthread_mutex_lock(&memo_lock);
  for (int i = 0; i < n_memo; i++) {
    if (strcmp(memos[i].folder, folder) == 0 && same_file(&memos[i].st_weights, &sw) &&
        same_file(&memos[i].st_vocab, &sv)) {
      memcpy(hex, memos[i].hex, 33);
      pthread_mutex_unlock(&memo_lock);
      return SL_OK;
    }
  }
  pthread_mutex_unlock(&memo_lock);
  XXH3_128bits_reset(&st);
  if (hash_into(&st, wpath, err) || hash_into(&st, vpath, err)) return SL_ERROR;
  XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
  pthread_mutex_lock(&memo_lock);
  {
    memo *m = &memos[n_memo < N_MEMO ? n_memo++ : next_memo++ % N_MEMO];
    snprintf(m->folder, sizeof m->folder, "%s", folder);
    m->st_weights = sw;
    m->st_vocab = sv;
    memcpy(m->hex, hex, 33);
  }
  pthread_mutex_unlock(&memo_lock);
  return SL_OK;
}

int sl_op_fingerprint(const char *name, int *found, sl_fingerprint *out, sl_err *err) {
  sl_model_info *rows;
  size_t n;
  int rc = SL_OK;
  *found = 0;
  memset(out, 0, sizeof *out);
  if (sl_op_model_list(&rows, &n, err)) return SL_ERROR;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(rows[i].name, name) != 0) continue;
    *found = 1;
    snprintf(out->folder, sizeof out->folder, "%s", rows[i].path);
    snprintf(out->kind, sizeof out->kind, "%s", sl_op_kind_name(rows[i].kind));
    out->dim = rows[i].dim;
    snprintf(out->dtype, sizeof out->dtype, "%s", rows[i].dtype);
    break;
  }
  free(rows);
  if (*found) rc = weights_hash(out->folder, out->weights, err);
  return rc;
}

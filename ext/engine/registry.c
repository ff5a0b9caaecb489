/*
** registry.c: the process-wide model registry (see registry.h).
**
** Two lists under one mutex: `models` (one slot per loaded folder, with its pin count)
** and `names` (in load order, each pointing at a slot). The mutex is held only to look
** up and count, never during inference or file I/O, so calls on loaded models never
** wait for each other here; loading a model happens outside the lock and the result is
** published only if nobody loaded the same name or folder meanwhile.
*/
#include "registry.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
  sl_model *model;
  int names;                  /* names pointing here */
  int pins;                   /* in-flight calls */
  int dying;                  /* last name unloaded; waiting for pins to drain */
  struct slot *next;
} slot;

typedef struct name_entry {
  char *name;
  slot *slot;
  struct name_entry *next;    /* load order */
} name_entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t unpinned = PTHREAD_COND_INITIALIZER;
static slot *models;
static name_entry *names;

static name_entry *find_name(const char *name) {
  for (name_entry *n = names; n; n = n->next)
    if (strcmp(n->name, name) == 0) return n;
  return NULL;
}

static int same_model(const sl_model *m, const char *dir, sl_compute_dtype dtype) {
  return strcmp(m->dir, dir) == 0 && sl_bert_compute_dtype(m->bert) == dtype;
}

static slot *find_dir(const char *dir, sl_compute_dtype dtype) {
  for (slot *s = models; s; s = s->next)
    if (!s->dying && same_model(s->model, dir, dtype)) return s;
  return NULL;
}

static void append_name(name_entry *e) {
  name_entry **p = &names;
  while (*p) p = &(*p)->next;
  *p = e;
}

/* Adds name -> s, or -> a new slot owning *model (then *model is set to NULL).
** Called with the lock held. */
static int add_name(const char *name, slot *s, sl_model **model, sl_err *err) {
  name_entry *e = calloc(1, sizeof *e);
  slot *fresh = s ? NULL : calloc(1, sizeof *fresh);
  if (!e || (!s && !fresh) || !(e->name = strdup(name))) {
    free(e);
    free(fresh);
    return sl_fail(err, "out of memory");
  }
  if (!s) {
    s = fresh;
    s->model = *model;
    *model = NULL;
    s->next = models;
    models = s;
  }
  s->names++;
  e->slot = s;
  append_name(e);
  return SL_OK;
}

/* With the lock held: SL_OK and *done=1 when name is already settled (same folder and
** dtype), SL_ERROR when name is taken by another model, *done=0 when name is free. */
static int check_name(const char *name, const char *real, sl_compute_dtype dtype, int *done,
                      sl_err *err) {
  name_entry *e = find_name(name);
  *done = e != NULL;
  if (e && !same_model(e->slot->model, real, dtype))
    return sl_fail(err, "a model named '%s' is already loaded from '%s' as %s (unload it first)",
                   name, e->slot->model->dir, sl_bert_dtype(e->slot->model->bert));
  return SL_OK;
}

int sl_registry_load(const char *name, const char *dir, sl_compute_dtype dtype, sl_err *err) {
  char real[PATH_MAX];
  sl_model *loaded = NULL;
  slot *s;
  int rc, done;

  if (!name[0]) return sl_fail(err, "model name must not be empty");
  if (strlen(name) >= sizeof(((sl_model_info *)0)->name)) return sl_fail(err, "model name is too long");
  if (!realpath(dir, real)) {
    int e = errno;
    /* Opening says best what is wrong with the folder; if it opens, say why not. */
    if (sl_model_open(dir, dtype, &loaded, err)) return SL_ERROR;
    sl_model_close(loaded);
    return sl_fail(err, "cannot resolve the folder '%s': %s", dir, strerror(e));
  }

  pthread_mutex_lock(&lock);
  rc = check_name(name, real, dtype, &done, err);
  if (rc == SL_OK && !done && (s = find_dir(real, dtype)) != NULL) {
    rc = add_name(name, s, NULL, err);
    done = 1;
  }
  pthread_mutex_unlock(&lock);
  if (rc || done) return rc;

  /* Load outside the lock; another thread may load the same name or folder meanwhile. */
  if (sl_model_open(real, dtype, &loaded, err)) return SL_ERROR;
  pthread_mutex_lock(&lock);
  rc = check_name(name, real, dtype, &done, err);
  if (rc == SL_OK && !done) rc = add_name(name, find_dir(real, dtype), &loaded, err);
  pthread_mutex_unlock(&lock);
  sl_model_close(loaded);          /* NULL when the registry took it */
  return rc;
}

int sl_registry_unload(const char *name, sl_err *err) {
  name_entry **p, *e;
  slot *s, **sp;
  sl_model *dead = NULL;

  pthread_mutex_lock(&lock);
  for (p = &names; *p && strcmp((*p)->name, name) != 0; p = &(*p)->next) {}
  if (!(e = *p)) {
    pthread_mutex_unlock(&lock);
    return sl_fail(err, "no model named '%s'", name);
  }
  *p = e->next;
  s = e->slot;
  if (--s->names == 0) {
    /* Invisible to new callers from here on; pinned callers still find it by model. */
    s->dying = 1;
    while (s->pins > 0) pthread_cond_wait(&unpinned, &lock);
    for (sp = &models; *sp != s; sp = &(*sp)->next) {}
    *sp = s->next;
    dead = s->model;
    free(s);
  }
  pthread_mutex_unlock(&lock);
  free(e->name);
  free(e);
  sl_model_close(dead);
  return SL_OK;
}

/* The model's slot; called with the lock held. A model is in exactly one slot. */
static slot *slot_of(const sl_model *m) {
  for (slot *s = models; s; s = s->next)
    if (s->model == m) return s;
  return NULL;
}

sl_model *sl_registry_acquire(const char *name) {
  sl_model *m = NULL;
  pthread_mutex_lock(&lock);
  name_entry *e = find_name(name);
  if (e) {
    e->slot->pins++;
    m = e->slot->model;
  }
  pthread_mutex_unlock(&lock);
  return m;
}

sl_model *sl_registry_acquire_first(sl_model_kind kind) {
  sl_model *m = NULL;
  pthread_mutex_lock(&lock);
  for (name_entry *e = names; e; e = e->next) {
    if (e->slot->model->cfg.kind == kind) {
      e->slot->pins++;
      m = e->slot->model;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  return m;
}

void sl_registry_release(sl_model *m) {
  pthread_mutex_lock(&lock);
  slot *s = slot_of(m);
  if (--s->pins == 0) pthread_cond_broadcast(&unpinned);
  pthread_mutex_unlock(&lock);
}

int sl_registry_list(sl_model_info **rows, size_t *n, sl_err *err) {
  size_t count = 0, i = 0;
  pthread_mutex_lock(&lock);
  for (name_entry *e = names; e; e = e->next) count++;
  *rows = calloc(count ? count : 1, sizeof **rows);
  if (!*rows) {
    pthread_mutex_unlock(&lock);
    return sl_fail(err, "out of memory");
  }
  for (name_entry *e = names; e; e = e->next, i++) {
    const sl_model *m = e->slot->model;
    sl_model_info *r = &(*rows)[i];
    snprintf(r->name, sizeof r->name, "%s", e->name);
    snprintf(r->path, sizeof r->path, "%s", m->dir);
    r->kind = m->cfg.kind;
    r->dim = m->cfg.kind == SL_KIND_EMBED ? m->cfg.hidden : m->cfg.num_labels;
    r->layers = m->cfg.layers;
    r->max_seq_len = m->cfg.max_seq_len;
    r->params = sl_bert_params(m->bert);
    r->file_bytes = sl_bert_file_bytes(m->bert);
    r->owned_bytes = sl_bert_owned_bytes(m->bert);
    r->bytes = r->file_bytes + r->owned_bytes;
    snprintf(r->dtype, sizeof r->dtype, "%s", sl_bert_dtype(m->bert));
    snprintf(r->pooling, sizeof r->pooling, "%s",
             m->cfg.kind == SL_KIND_EMBED ? sl_pooling_name(m->cfg.pooling) : "cls");
    r->load_ms = m->load_ms;
  }
  pthread_mutex_unlock(&lock);
  *n = count;
  return SL_OK;
}

/*
** registry.c: the process-wide model registry (see registry.h).
**
** Two lists under one mutex: `models` (one slot per loaded model, with its pin count)
** and `names` (in load order, each pointing at a slot). The mutex is held only to look
** up and count, never during inference or file I/O, so calls on loaded models never
** wait for each other here; loading a model happens outside the lock and the result is
** published only if nobody loaded the same name or files meanwhile.
**
** A loaded model may be shared (another name, or the same name loaded again) only while
** its folder still holds the files it read: the model to share is pinned, its files'
** stamps are checked outside the lock (sl_model_changed), and a model found changed is
** marked stale, never shared again; the folder is then loaded anew.
*/
#include "../base/alloc.h"
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
  int stale;                  /* its folder's files changed since it was loaded: not shared */
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

/* The model of dir and dtype that may be shared, if any. */
static slot *find_dir(const char *dir, sl_compute_dtype dtype) {
  for (slot *s = models; s; s = s->next)
    if (!s->dying && !s->stale && same_model(s->model, dir, dtype)) return s;
  return NULL;
}

static void append_name(name_entry *e) {
  name_entry **p = &names;
  while (*p) p = &(*p)->next;
  *p = e;
}

/* With the lock held: SL_ERROR when name is taken by a model of another folder or dtype,
** else SL_OK with *e the name's entry or NULL when name is free. */
static int check_name(const char *name, const char *real, sl_compute_dtype dtype, name_entry **e,
                      sl_err *err) {
  *e = find_name(name);
  if (*e && !same_model((*e)->slot->model, real, dtype))
    return sl_fail(err, "a model named '%s' is already loaded from '%s' as %s (unload it first)",
                   name, (*e)->slot->model->dir, sl_bert_dtype((*e)->slot->model->bert));
  return SL_OK;
}

/* The registered model the name (entry e, or NULL) or the folder may use, if any: the
** name's own while it is not stale, else one the folder's other names share. */
static slot *candidate(name_entry *e, const char *real, sl_compute_dtype dtype) {
  return e && !e->slot->stale && !e->slot->dying ? e->slot : find_dir(real, dtype);
}

/* With the lock held: takes s out of the registry once no call pins it any more (the
** lock is released while waiting) and returns its model for the caller to close after
** unlocking. s must have no names left. */
static sl_model *retire(slot *s) {
  slot **sp;
  sl_model *m;
  /* Invisible to new callers from here on; pinned callers still find it by model. */
  s->dying = 1;
  while (s->pins > 0) pthread_cond_wait(&unpinned, &lock);
  for (sp = &models; *sp != s; sp = &(*sp)->next) {}
  *sp = s->next;
  m = s->model;
  sl_free(s);
  return m;
}

static void unpin(slot *s) {
  if (--s->pins == 0) pthread_cond_broadcast(&unpinned);
}

/* With the lock held: points name (entry e, or NULL for a new name) at s, a model whose
** files are the folder's as they are now, or at a new slot owning *fresh when s is NULL
** (*fresh is then set to NULL). A name that pointed elsewhere moves; the model it
** leaves goes to *dead when it was that model's last name. */
static int attach(const char *name, name_entry *e, slot *s, sl_model **fresh, sl_model **dead,
                  sl_err *err) {
  name_entry *ne = NULL;
  slot *old;
  if (!e && (!(ne = sl_calloc(1, sizeof *ne)) || !(ne->name = sl_strdup(name)))) {
    sl_free(ne);
    return sl_oom(err);
  }
  if (!s) {
    if (!(s = sl_calloc(1, sizeof *s))) {
      if (ne) sl_free(ne->name);
      sl_free(ne);
      return sl_oom(err);
    }
    s->model = *fresh;
    *fresh = NULL;
    s->next = models;
    models = s;
  }
  if (ne) {
    ne->slot = s;
    s->names++;
    append_name(ne);
    return SL_OK;
  }
  if ((old = e->slot) == s) return SL_OK;
  /* The name moves; the model it leaves goes once its in-flight calls are done. */
  e->slot = s;
  s->names++;
  if (--old->names == 0) *dead = retire(old);
  return SL_OK;
}

int sl_registry_load(const char *name, const char *dir, sl_compute_dtype dtype, sl_err *err) {
  char real[PATH_MAX];
  sl_model *loaded = NULL, *dead = NULL;
  name_entry *e;
  slot *s = NULL;
  int rc, done = 0;

  if (!name[0]) return sl_fail(err, "model name must not be empty");
  if (strlen(name) >= sizeof(((sl_model_info *)0)->name)) return sl_fail(err, "model name is too long");
  if (!realpath(dir, real)) {
    int code = errno;
    /* Opening says best what is wrong with the folder; if it opens, say why not. */
    if (sl_model_open(dir, dtype, &loaded, err)) return SL_ERROR;
    sl_model_close(loaded);
    return sl_fail(err, "cannot resolve the folder '%s': %s", dir, strerror(code));
  }

  /* A model the name or the folder already has, pinned while its files are checked. */
  pthread_mutex_lock(&lock);
  rc = check_name(name, real, dtype, &e, err);
  if (rc == SL_OK && (s = candidate(e, real, dtype)) != NULL) s->pins++;
  pthread_mutex_unlock(&lock);
  if (rc) return rc;
  if (s) {
    int changed = sl_model_changed(s->model) != NULL;
    pthread_mutex_lock(&lock);
    if (changed) s->stale = 1;
    unpin(s);
    if (!changed && !s->stale && !s->dying) {
      /* Still the folder's files: the name is settled on it (a no-op when it was). */
      rc = check_name(name, real, dtype, &e, err);
      if (rc == SL_OK) rc = attach(name, e, s, NULL, &dead, err);
      done = 1;
    }
    pthread_mutex_unlock(&lock);
    sl_model_close(dead);
    if (done) return rc;
  }

  /* Load outside the lock; another thread may load the same name or folder meanwhile.
  ** A registered model that read the very same files is shared instead; one that read
  ** others is never shared again. */
  if (sl_model_open(real, dtype, &loaded, err)) return SL_ERROR;
  pthread_mutex_lock(&lock);
  rc = check_name(name, real, dtype, &e, err);
  if (rc == SL_OK) {
    s = candidate(e, real, dtype);
    if (s && !sl_file_log_same(&s->model->files, &loaded->files)) {
      s->stale = 1;
      s = NULL;
    }
    rc = attach(name, e, s, &loaded, &dead, err);
  }
  pthread_mutex_unlock(&lock);
  sl_model_close(loaded);          /* NULL when the registry took it */
  sl_model_close(dead);
  return rc;
}

int sl_registry_unload(const char *name, sl_err *err) {
  name_entry **p, *e;
  sl_model *dead = NULL;

  pthread_mutex_lock(&lock);
  for (p = &names; *p && strcmp((*p)->name, name) != 0; p = &(*p)->next) {}
  if (!(e = *p)) {
    pthread_mutex_unlock(&lock);
    return sl_fail(err, "no model named '%s'", name);
  }
  *p = e->next;
  if (--e->slot->names == 0) dead = retire(e->slot);
  pthread_mutex_unlock(&lock);
  sl_free(e->name);
  sl_free(e);
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
  unpin(slot_of(m));
  pthread_mutex_unlock(&lock);
}

int sl_registry_list(sl_model_info **rows, size_t *n, sl_err *err) {
  size_t count = 0, i = 0;
  pthread_mutex_lock(&lock);
  for (name_entry *e = names; e; e = e->next) count++;
  *rows = sl_calloc(count ? count : 1, sizeof **rows);
  if (!*rows) {
    pthread_mutex_unlock(&lock);
    return sl_oom(err);
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
    r->file_resident = sl_bert_file_resident(m->bert);
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

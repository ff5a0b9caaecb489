/*
** alloc.c: the one hook for semlite's own allocations (alloc.h).
*/
#include "alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

static void *libc_malloc(size_t n) { return malloc(n); }
static void *libc_realloc(void *p, size_t n) { return realloc(p, n); }
static void libc_free(void *p) { free(p); }

static sl_allocator current = {libc_malloc, libc_realloc, libc_free};
/* 0: open; 1: an install is writing `current`; 2: fixed for the life of the process. */
static atomic_int state;

int sl_alloc_install(const sl_allocator *a) {
  int open = 0;
  if (!atomic_compare_exchange_strong(&state, &open, 1)) return SL_ERROR;
  current = *a;
  atomic_store_explicit(&state, 2, memory_order_release);
  return SL_OK;
}

/* The allocator in use: the first allocation fixes it (to the C library's when nothing
** was installed). After that, one acquire load. */
static const sl_allocator *use(void) {
  if (atomic_load_explicit(&state, memory_order_acquire) != 2) {
    int open = 0;
    atomic_compare_exchange_strong(&state, &open, 2);
    while (atomic_load_explicit(&state, memory_order_acquire) != 2) {
    }
  }
  return &current;
}

void *sl_malloc(size_t n) { return use()->xMalloc(n ? n : 1); }

void *sl_calloc(size_t count, size_t size) {
  void *p;
  if (size && count > SIZE_MAX / size) return NULL;
  if ((p = sl_malloc(count * size))) memset(p, 0, count * size);
  return p;
}

void *sl_realloc(void *p, size_t n) { return use()->xRealloc(p, n ? n : 1); }

void sl_free(void *p) {
  if (p) use()->xFree(p);
}

char *sl_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = sl_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

char *sl_vmprintf(const char *fmt, va_list ap) {
  va_list again;
  char *s;
  int n;
  va_copy(again, ap);
  n = vsnprintf(NULL, 0, fmt, ap);
  if (n < 0 || !(s = sl_malloc((size_t)n + 1))) {
    va_end(again);
    return NULL;
  }
  vsnprintf(s, (size_t)n + 1, fmt, again);
  va_end(again);
  return s;
}

char *sl_mprintf(const char *fmt, ...) {
  va_list ap;
  char *s;
  va_start(ap, fmt);
  s = sl_vmprintf(fmt, ap);
  va_end(ap);
  return s;
}

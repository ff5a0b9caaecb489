/*
** alloc.c: the one hook for semlite's own allocations (alloc.h).
**
** Blocks are aligned to SL_ALIGN (16, as malloc's are for max_align_t) whatever the hook
** gives: SQLite promises only 8. The hook's block p is kept in the 8 bytes before the
** caller's pointer q, the first SL_ALIGN boundary at least 8 bytes into p (q - p is 8 to
** 8 + SL_ALIGN - 1 for any hook that aligns to at least 1; 8 or 16 for SQLite's and libc's).
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

#define SL_ALIGN 16
#define HEADER (8 + SL_ALIGN - 1)   /* the most a block gives before q */

/* Where q goes in the hook's block p. */
static char *aligned_in(char *p) {
  return (char *)(((uintptr_t)p + 8 + SL_ALIGN - 1) & ~(uintptr_t)(SL_ALIGN - 1));
}

void *sl_malloc(size_t n) {
  char *p, *q;
  if (n > SIZE_MAX - HEADER || !(p = use()->xMalloc(n + HEADER))) return NULL;
  q = aligned_in(p);
  memcpy(q - 8, &p, sizeof p);
  return q;
}

void *sl_calloc(size_t count, size_t size) {
  void *p;
  if (size && count > SIZE_MAX / size) return NULL;
  if ((p = sl_malloc(count * size))) memset(p, 0, count * size);
  return p;
}

/* The hook's block behind q. */
static char *block_of(void *q) {
  char *p;
  memcpy(&p, (char *)q - 8, sizeof p);
  return p;
}

void *sl_realloc(void *q, size_t n) {
  char *p, *p2, *q2;
  size_t off;
  if (!q) return sl_malloc(n);
  p = block_of(q);
  off = (size_t)((char *)q - p);
  if (n > SIZE_MAX - HEADER || !(p2 = use()->xRealloc(p, n + HEADER))) return NULL;
  /* The hook kept the bytes at p2 + off; the aligned place may be elsewhere in p2. Every
  ** byte moved lies inside the n + HEADER the block now has. */
  q2 = aligned_in(p2);
  if ((size_t)(q2 - p2) != off) memmove(q2, p2 + off, n);
  memcpy(q2 - 8, &p2, sizeof p2);
  return q2;
}

void sl_free(void *q) {
  if (q) use()->xFree(block_of(q));
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

/*
** memory.c: scratch peak, the L1 hook and the process's memory readings (see memory.h).
**
** Residency is read from /proc/self/smaps rather than with mincore() over the mapping:
** the mapping belongs to bert.c, which does not expose it, and smaps' Rss counts what
** this process has mapped in RAM (what the operator's box pays for), where mincore would
** also count page cache that no one maps. Two models of one folder (fp32 and int8) map
** the same file and so share its pages: the largest Rss of the file's mappings is
** reported, not their sum.
*/
#include "memory.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static atomic_size_t scratch_peak;

void sl_memory_note_scratch(size_t bytes) {
  size_t peak = atomic_load_explicit(&scratch_peak, memory_order_relaxed);
  while (bytes > peak && !atomic_compare_exchange_weak_explicit(&scratch_peak, &peak, bytes,
                                                                memory_order_relaxed, memory_order_relaxed)) {}
}

size_t sl_memory_scratch_peak(void) { return atomic_load_explicit(&scratch_peak, memory_order_relaxed); }

void sl_memory_rss(size_t *now, size_t *peak) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long size, resident = 0;
  struct rusage ru;
  if (f) {
    if (fscanf(f, "%llu %llu", &size, &resident) != 2) resident = 0;
    fclose(f);
  }
  *now = (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
  /* Linux reports kilobytes, and updates its high-water mark lazily: it can lag the
  ** current RSS, below which no peak is. */
  *peak = getrusage(RUSAGE_SELF, &ru) == 0 ? (size_t)ru.ru_maxrss * 1024 : 0;
  if (*peak < *now) *peak = *now;
}

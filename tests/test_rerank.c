/* test_rerank.c: placeholder suite, filled in by its owner. */
#include "test.h"

const sl_test rerank_tests[] = {
  {0, 0},
};

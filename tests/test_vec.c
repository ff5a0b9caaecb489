/* test_vec.c: placeholder suite, filled in by its owner. */
#include "test.h"

const sl_test vec_tests[] = {
  {0, 0},
};

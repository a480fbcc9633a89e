/* Shared includes for the cmocka unit tests. Each test file is one program named after the source
 * file it tests (test/unit/config/decode_test.c tests config/decode.c). */
#ifndef OCA_TEST_UNIT_TESTUTIL_H
#define OCA_TEST_UNIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#endif

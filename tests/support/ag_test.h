/* tests/support/ag_test.h: what every cmocka test includes. */
#ifndef AG_TEST_H
#define AG_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#endif

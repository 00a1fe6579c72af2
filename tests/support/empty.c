/* Keeps the test-support library non-empty while it has no other sources. */
typedef int ag_testsupport_empty;

/* The Check runner: every suite in suites.def, one process, non-zero exit
 * on any failure.  CK_RUN_SUITE / CK_RUN_CASE select like Check does. */
#include <check.h>
#include <stdlib.h>

#define PB_TEST_SUITE(x) Suite *pb_test_suite_##x(void);
#include "suites.def"
#undef PB_TEST_SUITE

int main(void)
{
    SRunner *sr = srunner_create(NULL);
#define PB_TEST_SUITE(x) srunner_add_suite(sr, pb_test_suite_##x());
#include "suites.def"
#undef PB_TEST_SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Tests for config/diag.c: the "file:line:col: path: message" line format with and without a
 * position or path, escaping of control characters, and how oca_diag_field_error finds the key a
 * component's validate() names. */
#include "testutil.h"

#include <string.h>

#include "base/arena.h"
#include "config/diag.h"
#include "config/yaml_tree.h"

static void test_formats(void **state)
{
    (void)state;
    struct oca_diag d;
    struct oca_ynode at = { .kind = OCA_YNODE_SCALAR, .file = "f.yaml", .line = 3, .col = 7 };
    oca_diag_init(&d);
    oca_diag_error(&d, &at, "a.b", "bad %d", 1);
    oca_diag_error(&d, &at, NULL, "no path");
    oca_diag_error(&d, NULL, "a.b", "no position");
    oca_diag_error(&d, NULL, "", "nothing");
    oca_diag_error(&d, NULL, "x\ny", "tab\there, bell\a");
    assert_int_equal(d.errors, 5);
    assert_string_equal(d.text.data,
                        "f.yaml:3:7: a.b: bad 1\n"
                        "f.yaml:3:7: no path\n"
                        "a.b: no position\n"
                        "nothing\n"
                        "x\\ny: tab\\there, bell\\x07\n");
    oca_diag_free(&d);
    assert_int_equal(d.errors, 0);
    assert_null(d.text.data);
}

static void test_field_error(void **state)
{
    (void)state;
    struct oca_arena *arena = oca_arena_new(256);
    struct oca_diag d;
    const char *text = "endpoint: x\nrotation:\n  max_megabytes: 0\n";
    oca_diag_init(&d);
    const struct oca_ynode *body = oca_yaml_parse(arena, "f.yaml", text, strlen(text), &d);
    assert_non_null(body);
    d.ctx = body;
    d.ctx_path = "exporters.file/a";
    oca_diag_field_error(&d, "rotation.max_megabytes", "must be positive");
    oca_diag_field_error(&d, "rotation.max_days", "missing");
    oca_diag_field_error(&d, "path", "required");
    oca_diag_field_error(&d, NULL, "whole section");
    d.ctx = NULL;
    d.ctx_path = NULL;
    oca_diag_field_error(&d, "a.b", "no context");
    assert_int_equal(d.errors, 5);
    assert_string_equal(d.text.data,
                        "f.yaml:3:3: exporters.file/a.rotation.max_megabytes: must be positive\n"
                        "f.yaml:2:1: exporters.file/a.rotation.max_days: missing\n"
                        "f.yaml:1:1: exporters.file/a.path: required\n"
                        "f.yaml:1:1: exporters.file/a: whole section\n"
                        "a.b: no context\n");
    oca_diag_free(&d);
    oca_arena_destroy(arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_field_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests for config/yaml_tree.c: node positions, null and quoted scalars, anchors and aliases, the
 * errors (duplicate keys, syntax, aliases, nesting) with their exact file:line:col, environment
 * expansion, lookup and deep merge. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "config/diag.h"
#include "config/yaml_tree.h"

static struct oca_ynode *parse(struct oca_test_fixture *f, const char *text)
{
    return oca_yaml_parse(f->arena, "t.yaml", text, strlen(text), &f->diag);
}

/* Parses text that must fail and checks the one message. */
static void expect_error(struct oca_test_fixture *f, const char *text, const char *message)
{
    assert_null(parse(f, text));
    assert_int_equal(f->diag.errors, 1);
    assert_string_equal(f->diag.text.data, message);
}

static void assert_pos(const struct oca_ynode *n, unsigned line, unsigned col)
{
    assert_non_null(n);
    assert_int_equal(n->line, line);
    assert_int_equal(n->col, col);
}

static void test_positions(void **state)
{
    struct oca_test_fixture *f = *state;
    const struct oca_ynode *root = parse(f, "a: 1\nb:\n  c: \"x\"\n  d: [1, two]\n");
    assert_non_null(root);
    assert_int_equal(root->kind, OCA_YNODE_MAP);
    assert_int_equal(root->n, 2);
    assert_string_equal(root->file, "t.yaml");
    assert_pos(root->keys[0], 1, 1);
    assert_pos(root->values[0], 1, 4);
    assert_string_equal(root->values[0]->scalar, "1");
    assert_int_equal(root->values[0]->scalar_len, 1);
    assert_pos(root->keys[1], 2, 1);
    const struct oca_ynode *b = root->values[1];
    assert_int_equal(b->kind, OCA_YNODE_MAP);
    assert_pos(b->keys[0], 3, 3);
    assert_pos(b->values[0], 3, 6);
    const struct oca_ynode *d = oca_ynode_get(b, "d");
    assert_int_equal(d->kind, OCA_YNODE_SEQ);
    assert_int_equal(d->n, 2);
    assert_pos(d, 4, 6);
    assert_pos(d->values[0], 4, 7);
    assert_pos(d->values[1], 4, 10);
    assert_string_equal(d->values[1]->scalar, "two");
    assert_int_equal(f->diag.errors, 0);
}

static void test_nulls(void **state)
{
    struct oca_test_fixture *f = *state;
    const struct oca_ynode *root = parse(f, "a: null\nb: ~\nc:\nd: Null\ne: NULL\nf: \"null\"\ng: nul\nh: ''\n");
    assert_non_null(root);
    const char *nulls[] = { "a", "b", "c", "d", "e" };
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(oca_ynode_get(root, nulls[i])->kind, OCA_YNODE_NULL);
    assert_pos(oca_ynode_get(root, "b"), 2, 4);
    assert_int_equal(oca_ynode_get(root, "f")->kind, OCA_YNODE_SCALAR);
    assert_string_equal(oca_ynode_get(root, "f")->scalar, "null");
    assert_int_equal(oca_ynode_get(root, "g")->kind, OCA_YNODE_SCALAR);
    assert_int_equal(oca_ynode_get(root, "h")->kind, OCA_YNODE_SCALAR);
    assert_string_equal(oca_ynode_get(root, "h")->scalar, "");
}

static void test_empty_documents(void **state)
{
    struct oca_test_fixture *f = *state;
    const char *texts[] = { "", "# only a comment\n", "---\n", "null\n", "\n\n" };
    for (size_t i = 0; i < 5; i++) {
        const struct oca_ynode *root = parse(f, texts[i]);
        assert_non_null(root);
        assert_int_equal(root->kind, OCA_YNODE_MAP);
        assert_int_equal(root->n, 0);
    }
    const struct oca_ynode *scalar = parse(f, "hello\n");
    assert_int_equal(scalar->kind, OCA_YNODE_SCALAR);
    assert_int_equal(f->diag.errors, 0);
}

static void test_quoted(void **state)
{
    struct oca_test_fixture *f = *state;
    const struct oca_ynode *root =
        parse(f, "plain: 5\nsingle: '5'\ndouble: \"5\"\nliteral: |\n  5\nfolded: >\n  5\ntagged: !!str 5\n");
    assert_non_null(root);
    assert_false(oca_ynode_get(root, "plain")->quoted);
    const char *quoted[] = { "single", "double", "literal", "folded", "tagged" };
    for (size_t i = 0; i < 5; i++)
        assert_true(oca_ynode_get(root, quoted[i])->quoted);
    assert_string_equal(oca_ynode_get(root, "literal")->scalar, "5\n");
    assert_string_equal(oca_ynode_get(root, "tagged")->scalar, "5");
}

static void test_anchors_and_aliases(void **state)
{
    struct oca_test_fixture *f = *state;
    const struct oca_ynode *root = parse(f, "base: &b\n  x: 1\nuse: *b\nname: &n hello\nlist: [*n, *b]\n");
    assert_non_null(root);
    const struct oca_ynode *base = oca_ynode_get(root, "base");
    assert_ptr_equal(oca_ynode_get(root, "use"), base);
    assert_string_equal(oca_ynode_get(base, "x")->scalar, "1");
    const struct oca_ynode *list = oca_ynode_get(root, "list");
    assert_ptr_equal(list->values[0], oca_ynode_get(root, "name"));
    assert_ptr_equal(list->values[1], base);
}

static void test_merge_keys(void **state)
{
    struct oca_test_fixture *f = *state;
    const struct oca_ynode *root = parse(f, "base: &b {x: 1, y: 2}\nmore: &m {z: 3, y: 9}\n"
                                            "one:\n  y: 5\n  <<: *b\n"
                                            "two:\n  <<: [*b, *m]\n  w: 0\n");
    assert_non_null(root);
    const struct oca_ynode *one = oca_ynode_get(root, "one");
    assert_int_equal(one->n, 2);
    assert_string_equal(one->keys[0]->scalar, "y");
    assert_string_equal(oca_ynode_get(one, "y")->scalar, "5");
    assert_string_equal(oca_ynode_get(one, "x")->scalar, "1");
    const struct oca_ynode *two = oca_ynode_get(root, "two");
    assert_int_equal(two->n, 4);
    assert_string_equal(oca_ynode_get(two, "y")->scalar, "2");
    assert_string_equal(oca_ynode_get(two, "z")->scalar, "3");
    assert_null(oca_ynode_get(two, "<<"));
    expect_error(f, "a: &a [1]\nb:\n  <<: *a\n", "t.yaml:1:8: a merge key (<<) takes a mapping or a sequence of mappings\n");
    oca_diag_free(&f->diag);
    /* Quoted, "<<" is an ordinary key. */
    root = parse(f, "\"<<\": 1\n");
    assert_string_equal(oca_ynode_get(root, "<<")->scalar, "1");
}

static void test_unknown_and_recursive_alias(void **state)
{
    struct oca_test_fixture *f = *state;
    expect_error(f, "a: 1\nb: *nope\n", "t.yaml:2:4: unknown anchor \"nope\"\n");
    oca_diag_free(&f->diag);
    /* An anchor is only known once its node is complete, so a node cannot contain itself. */
    expect_error(f, "a: &x [1, *x]\n", "t.yaml:1:11: unknown anchor \"x\"\n");
}

static void test_duplicate_key(void **state)
{
    struct oca_test_fixture *f = *state;
    expect_error(f, "a: 1\nb:\n  c: 1\n  c: 2\n", "t.yaml:4:3: duplicate key \"c\"\n");
}

static void test_non_scalar_key(void **state)
{
    struct oca_test_fixture *f = *state;
    expect_error(f, "a: 1\n? [x, y]\n: 2\n", "t.yaml:2:3: mapping keys must be strings\n");
}

static void test_syntax_errors(void **state)
{
    struct oca_test_fixture *f = *state;
    expect_error(f, "a: 1\nb: [1, 2\nc: 3\n",
                 "t.yaml:3:2: did not find expected ',' or ']' (while parsing a flow sequence at line 2)\n");
    oca_diag_free(&f->diag);
    expect_error(f, "a: 1\n b: 2\n",
                 "t.yaml:2:3: mapping values are not allowed in this context\n");
    oca_diag_free(&f->diag);
    expect_error(f, "a: 1\n---\nb: 2\n", "t.yaml:2:1: only one YAML document is supported\n");
    oca_diag_free(&f->diag);
    expect_error(f, "a: 1\nb: \xc3\xa9\xff\n", "t.yaml:2:5: invalid leading UTF-8 octet (byte 0xff)\n");
    oca_diag_free(&f->diag);
    expect_error(f, "a: 1\nb: x\x01\n", "t.yaml:2:5: control characters are not allowed (byte 0x01)\n");
}

static void test_limits(void **state)
{
    struct oca_test_fixture *f = *state;
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 99);
    deep[199] = '\0';
    expect_error(f, deep, "t.yaml:1:66: nesting is deeper than 64 levels\n");
    oca_diag_free(&f->diag);
    expect_error(f, "a: \"x\\0y\"\n", "t.yaml:1:4: NUL characters are not supported in values or keys\n");
    oca_diag_free(&f->diag);
    /* Each level names the previous one ten times: 10^7 nodes if walked. */
    struct oca_buf text = { 0 };
    oca_buf_puts(&text, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i <= 7; i++) {
        oca_buf_printf(&text, "l%d: &l%d [", i, i);
        for (int j = 0; j < 10; j++)
            oca_buf_printf(&text, "%s*l%d", j ? ", " : "", i - 1);
        oca_buf_puts(&text, "]\n");
    }
    assert_null(parse(f, text.data));
    assert_non_null(strstr(f->diag.text.data, "aliases expand to too many nodes"));
    oca_buf_free(&text);
}

static void test_env_expansion(void **state)
{
    struct oca_test_fixture *f = *state;
    setenv("OCA_T_SET", "hello", 1);
    setenv("OCA_T_EMPTY", "", 1);
    unsetenv("OCA_T_UNSET");
    static const struct { const char *in, *out; } cases[] = {
        { "${env:OCA_T_SET}", "hello" },
        { "${OCA_T_SET}", "hello" },
        { "x-${OCA_T_SET}-${env:OCA_T_SET}", "x-hello-hello" },
        { "${env:OCA_T_UNSET}", "" },
        { "${env:OCA_T_UNSET:-fallback}", "fallback" },
        { "${OCA_T_UNSET:-a:b}", "a:b" },
        { "${env:OCA_T_EMPTY:-fallback}", "fallback" },
        { "${env:OCA_T_SET:-fallback}", "hello" },
        { "$$", "$" },
        { "$${OCA_T_SET}", "${OCA_T_SET}" },
        { "a$b $ c$", "a$b $ c$" },
        { "no references", "no references" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *bad = "unset";
        size_t len = 99;
        char *out = oca_yaml_expand_env(f->arena, cases[i].in, strlen(cases[i].in), &len, &bad);
        assert_non_null(out);
        assert_null(bad);
        assert_string_equal(out, cases[i].out);
        assert_int_equal(len, strlen(cases[i].out));
    }
}

static void test_env_malformed(void **state)
{
    struct oca_test_fixture *f = *state;
    const char *bad = NULL;
    size_t len;
    assert_null(oca_yaml_expand_env(f->arena, "a${OCA_T_SET", 12, &len, &bad));
    assert_string_equal(bad, "unterminated \"${\" (write $$ for a literal $)");
    assert_null(oca_yaml_expand_env(f->arena, "${1X}", 5, &len, &bad));
    assert_string_equal(bad, "invalid environment reference \"${1X}\" (expected ${NAME}, ${env:NAME} or "
                             "${env:NAME:-default})");
    assert_null(oca_yaml_expand_env(f->arena, "${file:/x}", 10, &len, &bad));
    assert_null(oca_yaml_expand_env(f->arena, "${env:}", 7, &len, &bad));
    assert_null(oca_yaml_expand_env(f->arena, "${}", 3, &len, &bad));
    expect_error(f, "a: 1\nb: x ${env:OCA_T_SET\n",
                 "t.yaml:2:4: unterminated \"${\" (write $$ for a literal $)\n");
}

static void test_env_in_tree(void **state)
{
    struct oca_test_fixture *f = *state;
    setenv("OCA_T_SET", "hello", 1);
    const struct oca_ynode *root = parse(f, "${OCA_T_SET}: ${OCA_T_SET}\nq: \"${OCA_T_SET}\"\nn: ${OCA_T_UNSET}\n");
    assert_non_null(root);
    assert_string_equal(root->keys[0]->scalar, "${OCA_T_SET}");
    assert_string_equal(root->values[0]->scalar, "hello");
    assert_string_equal(oca_ynode_get(root, "q")->scalar, "hello");
    assert_int_equal(oca_ynode_get(root, "n")->kind, OCA_YNODE_SCALAR);
    assert_string_equal(oca_ynode_get(root, "n")->scalar, "");
}

static void test_get(void **state)
{
    struct oca_test_fixture *f = *state;
    const struct oca_ynode *root = parse(f, "a: 1\nb: [x]\n");
    assert_string_equal(oca_ynode_get(root, "a")->scalar, "1");
    assert_null(oca_ynode_get(root, "c"));
    assert_null(oca_ynode_get(oca_ynode_get(root, "b"), "x"));
    assert_null(oca_ynode_get(NULL, "a"));
}

static void test_merge(void **state)
{
    struct oca_test_fixture *f = *state;
    const struct oca_ynode *base = parse(f, "a: {x: 1, y: 2}\nb: [1]\nc: 1\ne: {k: v}\n");
    const struct oca_ynode *over = parse(f, "a: {y: 3, z: 4}\nb: [2]\nd: 5\ne: plain\n");
    const struct oca_ynode *m = oca_ynode_merge(f->arena, base, over);
    assert_int_equal(m->kind, OCA_YNODE_MAP);
    assert_int_equal(m->n, 5);
    const char *order[] = { "a", "b", "c", "e", "d" };
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(m->keys[i]->scalar, order[i]);
    const struct oca_ynode *a = oca_ynode_get(m, "a");
    assert_int_equal(a->n, 3);
    assert_string_equal(oca_ynode_get(a, "x")->scalar, "1");
    assert_string_equal(oca_ynode_get(a, "y")->scalar, "3");
    assert_string_equal(oca_ynode_get(a, "z")->scalar, "4");
    assert_ptr_equal(oca_ynode_get(m, "b"), oca_ynode_get(over, "b"));
    assert_string_equal(oca_ynode_get(m, "e")->scalar, "plain");
    /* The later file's key node, so messages point where the winning value was written. */
    assert_ptr_equal(m->keys[0], over->keys[0]);
    /* Inputs untouched. */
    assert_int_equal(base->n, 4);
    assert_int_equal(oca_ynode_get(base, "a")->n, 2);
    assert_string_equal(oca_ynode_get(oca_ynode_get(base, "a"), "y")->scalar, "2");
    assert_int_equal(over->n, 4);
    assert_ptr_equal(oca_ynode_merge(f->arena, NULL, over), over);
    assert_ptr_equal(oca_ynode_merge(f->arena, base, NULL), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OCA_TEST_WITH_FIXTURE(test_positions),
        OCA_TEST_WITH_FIXTURE(test_nulls),
        OCA_TEST_WITH_FIXTURE(test_empty_documents),
        OCA_TEST_WITH_FIXTURE(test_quoted),
        OCA_TEST_WITH_FIXTURE(test_anchors_and_aliases),
        OCA_TEST_WITH_FIXTURE(test_merge_keys),
        OCA_TEST_WITH_FIXTURE(test_unknown_and_recursive_alias),
        OCA_TEST_WITH_FIXTURE(test_duplicate_key),
        OCA_TEST_WITH_FIXTURE(test_non_scalar_key),
        OCA_TEST_WITH_FIXTURE(test_syntax_errors),
        OCA_TEST_WITH_FIXTURE(test_limits),
        OCA_TEST_WITH_FIXTURE(test_env_expansion),
        OCA_TEST_WITH_FIXTURE(test_env_malformed),
        OCA_TEST_WITH_FIXTURE(test_env_in_tree),
        OCA_TEST_WITH_FIXTURE(test_get),
        OCA_TEST_WITH_FIXTURE(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

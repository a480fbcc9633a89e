/* Tests net/http2.c over real sockets: an nghttp2 client session in the test (so DATA framing and
 * flow control are under the test's control) and Debian's nghttp CLI as a child process. Covers
 * requests and bodies, concurrent streams, trailers, early answers, the limits (SETTINGS, 413,
 * 431, timeouts), flow-control backpressure from a paused stream, GOAWAY on garbage and on close. */
#include "netutil.h"

static void setup_server(struct nt_server *t)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(uv_loop_init(&t->loop), 0);
    nt_default_config(&t->cfg);
}

static uint16_t port_of(struct nt_server *t)
{
    return oca_http_server_port(t->srv);
}

static void test_get_and_post(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, port_of(&t)));
    struct nt_h2_stream *get = nt_h2_request(&h, "GET", "/hello?q=1", NULL, NULL, 0, true, NULL);
    assert_true(nt_h2_wait_closed(&h, get));
    assert_int_equal(get->status, 200);
    assert_string_equal(get->body.data, "GET /hello 0 bytes");
    assert_true(nt_has_line(&get->headers, "content-type: text/plain\n"));
    assert_true(nt_has_line(&get->headers, "content-length: 18\n"));
    assert_int_equal(t.last_version, 2);
    assert_string_equal(t.last_host, "127.0.0.1");
    assert_true(h.settings_seen);
    assert_int_equal(h.server_max_streams, 100);

    const uint8_t *chunks[] = { (const uint8_t *)"abc", (const uint8_t *)"defg", (const uint8_t *)"h" };
    size_t lens[] = { 3, 4, 1 };
    struct nt_h2_stream *post = nt_h2_request(&h, "POST", "/p", chunks, lens, 3, true, NULL);
    assert_true(nt_h2_wait_closed(&h, post));
    assert_string_equal(post->body.data, "POST /p 8 bytes");
    assert_memory_equal(t.last_body.data, "abcdefgh", 8);
    nt_h2_close(&h);
    nt_server_stop(&t);
    assert_int_equal(t.closes, 2);
}

static bool closes_reach(void *arg)
{
    return ((struct nt_server *)arg)->closes >= 10;
}

static void test_concurrent_streams(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, port_of(&t)));
    struct nt_h2_stream *st[10];
    char paths[10][16];
    for (int i = 0; i < 10; i++) {
        snprintf(paths[i], sizeof(paths[i]), "/s%d", i);
        st[i] = nt_h2_request(&h, "GET", paths[i], NULL, NULL, 0, true, NULL);
    }
    assert_true(oca_test_run_until(&t.loop, closes_reach, &t, NT_WAIT_MS));
    for (int i = 0; i < 10; i++) {
        assert_true(nt_h2_wait_closed(&h, st[i]));
        char want[64];
        snprintf(want, sizeof(want), "GET /s%d 0 bytes", i);
        assert_string_equal(st[i]->body.data, want);
    }
    nt_h2_close(&h);
    nt_server_stop(&t);
}

static void test_pieces_with_trailers(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, port_of(&t)));
    struct nt_h2_stream *s = nt_h2_request(&h, "GET", "/pieces", NULL, NULL, 0, true, NULL);
    assert_true(nt_h2_wait_closed(&h, s));
    assert_int_equal(s->status, 200);
    assert_string_equal(s->body.data, "first,second");
    assert_true(nt_has_line(&s->trailers, "x-trailer: yes\n"));
    assert_int_equal(s->error_code, 0);
    nt_h2_close(&h);
    nt_server_stop(&t);
}

static void test_early_answer_resets_upload(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, port_of(&t)));
    const uint8_t *chunks[] = { (const uint8_t *)"part" };
    size_t lens[] = { 4 };
    struct nt_h2_stream *s = nt_h2_request(&h, "POST", "/early", chunks, lens, 1, false, NULL);
    s->hold = true;
    assert_true(nt_h2_wait_closed(&h, s));
    assert_int_equal(s->status, 403);
    assert_string_equal(s->body.data, "no\n");
    assert_int_equal(t.ends, 0);
    /* The connection goes on. */
    struct nt_h2_stream *g = nt_h2_request(&h, "GET", "/after", NULL, NULL, 0, true, NULL);
    assert_true(nt_h2_wait_closed(&h, g));
    assert_int_equal(g->status, 200);
    nt_h2_close(&h);
    nt_server_stop(&t);
}

static void test_body_and_header_limits(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.cfg.max_request_body_size = 1000;
    t.cfg.max_header_bytes = 2048;
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, port_of(&t)));
    static uint8_t big[1500];
    memset(big, 'b', sizeof(big));
    const uint8_t *chunks[] = { big, big + 750 };
    size_t lens[] = { 750, 750 };
    /* Without content-length: cut when the bytes pass the limit. */
    struct nt_h2_stream *a = nt_h2_request(&h, "POST", "/a", chunks, lens, 2, true, NULL);
    /* With content-length: refused from the headers. */
    const char *cl[] = { "content-length", "1500", NULL };
    struct nt_h2_stream *b = nt_h2_request(&h, "POST", "/b", chunks, lens, 2, true, cl);
    char hv[3000];
    memset(hv, 'h', sizeof(hv) - 1);
    hv[sizeof(hv) - 1] = '\0';
    const char *hdr[] = { "x-big", hv, NULL };
    struct nt_h2_stream *c = nt_h2_request(&h, "GET", "/c", NULL, NULL, 0, true, hdr);
    assert_true(nt_h2_wait_closed(&h, a));
    assert_true(nt_h2_wait_closed(&h, b));
    assert_true(nt_h2_wait_closed(&h, c));
    assert_int_equal(a->status, 413);
    assert_int_equal(b->status, 413);
    assert_int_equal(c->status, 431);
    assert_int_equal(t.ends, 0);
    struct nt_h2_stream *g = nt_h2_request(&h, "GET", "/fine", NULL, NULL, 0, true, NULL);
    assert_true(nt_h2_wait_closed(&h, g));
    assert_int_equal(g->status, 200);
    assert_false(h.goaway);
    nt_h2_close(&h);
    nt_server_stop(&t);
}

static bool got_paused(void *arg)
{
    return ((struct nt_server *)arg)->paused != NULL;
}

struct window_zero {
    struct nt_h2 *h;
    struct nt_h2_stream *s;
};

static bool window_is_zero(void *arg)
{
    struct window_zero *w = arg;
    return nghttp2_session_get_stream_remote_window_size(w->h->session, w->s->id) == 0;
}

static bool ends_is_one(void *arg)
{
    return ((struct nt_server *)arg)->ends == 1;
}

static void test_paused_stream_stops_sender(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, port_of(&t)));
    /* 4 MiB in 16 KiB frames: four times the stream window the server grants. */
    size_t n = 256, each = 16384;
    uint8_t *body = oca_xmalloc(n * each);
    memset(body, 'x', n * each);
    struct nt_h2_stream *s = nt_h2_request(&h, "POST", "/pause", NULL, NULL, 0, false, NULL);
    s->hold = true;
    for (size_t i = 0; i < n && i < NT_H2_MAX_CHUNKS; i++) {
        s->chunks[s->n_chunks] = body + i * each;
        s->chunk_len[s->n_chunks++] = each;
    }
    nt_h2_more(&h, s, NULL, 0, false);
    assert_true(oca_test_run_until(&t.loop, got_paused, &t, NT_WAIT_MS));
    /* Paused after the first piece: the client runs out of window and stops sending. */
    struct window_zero wz = { &h, s };
    assert_true(oca_test_run_until(&t.loop, window_is_zero, &wz, NT_WAIT_MS));
    oca_test_run_until(&t.loop, ends_is_one, &t, 200);
    int32_t window = nghttp2_session_get_stream_remote_window_size(h.session, s->id);
    size_t sent = 0;
    for (size_t i = 0; i < s->next_chunk; i++)
        sent += s->chunk_len[i];
    assert_true(s->next_chunk < s->n_chunks);   /* the rest is held back by flow control */
    assert_int_equal(window, 0);
    assert_true(sent <= 1024 * 1024 + 65535);
    assert_int_equal(t.ends, 0);
    oca_http_stream_resume(t.paused);
    /* Everything flows once resumed. */
    nt_h2_more(&h, s, NULL, 0, true);
    assert_true(nt_h2_wait_closed(&h, s));
    char want[64];
    snprintf(want, sizeof(want), "POST /pause %zu bytes", n * each);
    assert_string_equal(s->body.data, want);
    free(body);
    nt_h2_close(&h);
    nt_server_stop(&t);
}

static bool goaway_seen(void *arg)
{
    struct nt_h2 *h = arg;
    return h->goaway && h->raw.eof;
}

static void test_garbage_frame_goaway(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 good, bad;
    assert_true(nt_h2_connect(&good, &t.loop, port_of(&t)));
    assert_true(nt_h2_connect(&bad, &t.loop, port_of(&t)));
    /* A DATA frame on stream 0: a connection error. */
    static const uint8_t garbage[] = { 0, 0, 4, 0, 0, 0, 0, 0, 0, 'j', 'u', 'n', 'k' };
    nt_send(&bad.raw, garbage, sizeof(garbage));
    assert_true(oca_test_run_until(&t.loop, goaway_seen, &bad, NT_WAIT_MS));
    assert_int_equal(bad.goaway_code, NGHTTP2_PROTOCOL_ERROR);
    /* A SETTINGS frame of a length that is no multiple of 6: FRAME_SIZE_ERROR. */
    struct nt_h2 bad2;
    assert_true(nt_h2_connect(&bad2, &t.loop, port_of(&t)));
    static const uint8_t garbage2[] = { 0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5 };
    nt_send(&bad2.raw, garbage2, sizeof(garbage2));
    assert_true(oca_test_run_until(&t.loop, goaway_seen, &bad2, NT_WAIT_MS));
    assert_int_equal(bad2.goaway_code, NGHTTP2_FRAME_SIZE_ERROR);
    nt_h2_close(&bad2);
    struct nt_h2_stream *g = nt_h2_request(&good, "GET", "/ok", NULL, NULL, 0, true, NULL);
    assert_true(nt_h2_wait_closed(&good, g));
    assert_int_equal(g->status, 200);
    struct oca_http_server_stats st;
    oca_http_server_get_stats(t.srv, &st);
    assert_true(st.protocol_errors >= 1);
    nt_h2_close(&bad);
    nt_h2_close(&good);
    nt_server_stop(&t);
}

static void test_idle_timeout_goaway(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.cfg.idle_timeout_ns = 200 * OCA_NS_PER_MS;
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, port_of(&t)));
    struct nt_h2_stream *g = nt_h2_request(&h, "GET", "/x", NULL, NULL, 0, true, NULL);
    assert_true(nt_h2_wait_closed(&h, g));
    assert_true(oca_test_run_until(&t.loop, goaway_seen, &h, NT_WAIT_MS));
    assert_int_equal(h.goaway_code, NGHTTP2_NO_ERROR);
    nt_h2_close(&h);
    nt_server_stop(&t);
}

static void test_no_request_cut_by_header_timeout(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.cfg.read_header_timeout_ns = 200 * OCA_NS_PER_MS;
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, port_of(&t)));
    assert_true(oca_test_run_until(&t.loop, goaway_seen, &h, NT_WAIT_MS));
    struct oca_http_server_stats st;
    oca_http_server_get_stats(t.srv, &st);
    assert_int_equal(st.timeouts, 1);
    nt_h2_close(&h);
    nt_server_stop(&t);
}

static bool headers_is_one(void *arg)
{
    return ((struct nt_server *)arg)->headers == 1;
}

static void test_server_close_sends_goaway(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, port_of(&t)));
    struct nt_h2_stream *s = nt_h2_request(&h, "GET", "/noanswer", NULL, NULL, 0, true, NULL);
    assert_true(oca_test_run_until(&t.loop, headers_is_one, &t, NT_WAIT_MS));
    nt_server_shutdown(&t);
    assert_int_equal(t.closes, 1);
    assert_true(oca_test_run_until(&t.loop, goaway_seen, &h, NT_WAIT_MS));
    assert_int_equal(h.goaway_code, NGHTTP2_NO_ERROR);
    assert_int_equal(s->status, 0);
    nt_h2_close(&h);
    nt_loop_finish(&t);
}

static bool closes_is_one(void *arg)
{
    return ((struct nt_server *)arg)->closes == 1;
}

static void test_client_reset_closes_stream(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, port_of(&t)));
    struct nt_h2_stream *s = nt_h2_request(&h, "GET", "/noanswer", NULL, NULL, 0, true, NULL);
    assert_true(oca_test_run_until(&t.loop, headers_is_one, &t, NT_WAIT_MS));
    assert_int_equal(t.closes, 0);
    nghttp2_submit_rst_stream(h.session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
    nt_h2_flush(&h);
    assert_true(nt_h2_wait_closed(&h, s));
    assert_true(oca_test_run_until(&t.loop, closes_is_one, &t, NT_WAIT_MS));
    nt_h2_close(&h);
    nt_server_stop(&t);
}

static void test_nghttp_cli(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    char url[64], dir[64], file[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/cli", (unsigned)port_of(&t));
    oca_test_make_dir(dir, sizeof(dir), "ocagent-h2");
    snprintf(file, sizeof(file), "%s/body", dir);
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    for (int i = 0; i < 100000; i++)
        fputc('a' + i % 26, f);
    fclose(f);
    struct oca_buf out = { 0 };
    const char *argv[] = { "nghttp", "-d", file, url, NULL };
    int rc = nt_run(&t.loop, argv, &out, 10000);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out.data, "POST /cli 100000 bytes"));
    assert_int_equal(t.last_version, 2);
    oca_buf_free(&out);
    char url2[80], url3[80];
    snprintf(url2, sizeof(url2), "%s2", url);
    snprintf(url3, sizeof(url3), "%s3", url);
    const char *argv2[] = { "nghttp", "-n", "-s", url, url2, url3, NULL };
    rc = nt_run(&t.loop, argv2, &out, 10000);
    assert_int_equal(rc, 0);
    assert_int_equal(t.headers, 4);
    oca_buf_free(&out);
    oca_test_remove_dir(dir);
    nt_server_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_post),
        cmocka_unit_test(test_concurrent_streams),
        cmocka_unit_test(test_pieces_with_trailers),
        cmocka_unit_test(test_early_answer_resets_upload),
        cmocka_unit_test(test_body_and_header_limits),
        cmocka_unit_test(test_paused_stream_stops_sender),
        cmocka_unit_test(test_garbage_frame_goaway),
        cmocka_unit_test(test_idle_timeout_goaway),
        cmocka_unit_test(test_no_request_cut_by_header_timeout),
        cmocka_unit_test(test_server_close_sends_goaway),
        cmocka_unit_test(test_client_reset_closes_stream),
        cmocka_unit_test(test_nghttp_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

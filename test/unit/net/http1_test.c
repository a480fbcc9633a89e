/* Tests net/http1.c through real sockets on 127.0.0.1: keep-alive, pipelining, chunked bodies,
 * Expect: 100-continue, early answers, the limits (413, 431, 400, read_header_timeout against a
 * trickling client, read_timeout, idle_timeout, max_connections), answers in pieces, pausing a
 * streamed body, and that a bad client never disturbs a good one. */
#include "netutil.h"

#include "net/conn.h"

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

static int status_of(const struct oca_buf *b)
{
    if (!b->data || b->len < 12 || strncmp(b->data, "HTTP/1.1 ", 9) != 0)
        return 0;
    return atoi(b->data + 9);
}

/* A good client: one request on its own connection, answered 200. */
static void assert_good_client_served(struct nt_server *t)
{
    struct nt_client c;
    assert_true(nt_connect(&c, &t->loop, port_of(t)));
    nt_sends(&c, "GET /good HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(nt_wait_for(&c, "GET /good 0 bytes", 1));
    assert_int_equal(status_of(&c.in), 200);
    nt_close(&c);
}

static void test_keep_alive(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "POST /a?x=1 HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\n\r\nhello");
    assert_true(nt_wait_for(&c, "POST /a 5 bytes", 1));
    assert_string_equal(t.last_host, "example");
    assert_int_equal(t.last_version, 1);
    assert_memory_equal(t.last_body.data, "hello", 5);
    assert_non_null(strstr(c.in.data, "content-length: 15\r\n"));
    assert_null(strstr(c.in.data, "connection: close"));
    nt_sends(&c, "GET /b HTTP/1.1\r\nHost: example\r\n\r\n");
    assert_true(nt_wait_for(&c, "GET /b 0 bytes", 1));
    assert_false(c.eof);
    assert_int_equal(t.headers, 2);
    nt_close(&c);
    nt_server_stop(&t);
    assert_int_equal(t.closes, 2);
}

static void test_pipelined_in_order(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "POST /one HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                 "GET /two HTTP/1.1\r\n\r\n"
                 "POST /three HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n");
    assert_true(nt_wait_for(&c, "HTTP/1.1 200", 3));
    char *one = strstr(c.in.data, "POST /one 3 bytes");
    char *two = strstr(c.in.data, "GET /two 0 bytes");
    char *three = strstr(c.in.data, "POST /three 2 bytes");
    assert_non_null(one);
    assert_non_null(two);
    assert_non_null(three);
    assert_true(one < two && two < three);
    nt_close(&c);
    nt_server_stop(&t);
}

static bool headers_is_one(void *arg)
{
    return ((struct nt_server *)arg)->headers == 1;
}

static void test_chunked_body(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    /* The body arrives in two writes, the second after the server has seen the first. */
    assert_true(oca_test_run_until(&t.loop, headers_is_one, &t, NT_WAIT_MS));
    nt_sends(&c, "6;ext=1\r\n world\r\n0\r\nx-t: 1\r\n\r\n");
    assert_true(nt_wait_for(&c, "POST /c 11 bytes", 1));
    assert_memory_equal(t.last_body.data, "hello world", 11);
    nt_close(&c);
    nt_server_stop(&t);
}

static void test_expect_continue(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "POST /x HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    assert_true(nt_wait_for(&c, "HTTP/1.1 100 Continue\r\n\r\n", 1));
    assert_int_equal(t.ends, 0);
    nt_sends(&c, "data");
    assert_true(nt_wait_for(&c, "POST /x 4 bytes", 1));
    nt_close(&c);

    /* Answered from the headers: no 100, and the connection closes since the body never came. */
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "POST /early HTTP/1.1\r\nContent-Length: 4000\r\nExpect: 100-continue\r\n\r\n");
    assert_true(nt_wait_for(&c, "no\n", 1));
    assert_int_equal(status_of(&c.in), 403);
    assert_null(strstr(c.in.data, "100 Continue"));
    assert_non_null(strstr(c.in.data, "connection: close"));
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    nt_close(&c);
    nt_server_stop(&t);
}

static void test_early_answer_small_body_keeps_connection(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "POST /early HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789GET /after HTTP/1.1\r\n\r\n");
    assert_true(nt_wait_for(&c, "GET /after 0 bytes", 1));
    assert_int_equal(status_of(&c.in), 403);
    assert_int_equal(t.ends, 1);    /* only /after: the early answer's body was dropped */
    /* A request without a body answered from its headers keeps the connection too. */
    nt_sends(&c, "GET /early HTTP/1.1\r\n\r\nGET /again HTTP/1.1\r\n\r\n");
    assert_true(nt_wait_for(&c, "GET /again 0 bytes", 1));
    assert_int_equal(nt_count(&c.in, "HTTP/1.1 403"), 2);
    assert_null(strstr(c.in.data, "connection: close"));
    nt_close(&c);
    nt_server_stop(&t);
}

static void test_body_too_large(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.cfg.max_request_body_size = 1000;
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "POST /big HTTP/1.1\r\nContent-Length: 1001\r\n\r\n");
    assert_true(nt_wait_for(&c, "\r\n\r\n", 1));
    assert_int_equal(status_of(&c.in), 413);
    assert_non_null(strstr(c.in.data, "connection: close"));
    assert_int_equal(t.headers, 1);   /* the handler saw the headers first, but buffers: the server answers */
    /* The server drains what the client still sends, then closes. */
    char junk[1001];
    memset(junk, 'j', sizeof(junk));
    nt_send(&c, junk, sizeof(junk));
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    nt_close(&c);

    /* Chunked: no length up front, cut when the bytes pass the limit. */
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[700];
    memset(chunk, 'c', sizeof(chunk));
    nt_sends(&c, "2bc\r\n");
    nt_send(&c, chunk, sizeof(chunk));
    nt_sends(&c, "\r\n2bc\r\n");
    nt_send(&c, chunk, sizeof(chunk));
    nt_sends(&c, "\r\n");
    assert_true(nt_wait_for(&c, "\r\n\r\n", 1));
    assert_int_equal(status_of(&c.in), 413);
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    nt_close(&c);
    assert_int_equal(t.ends, 0);
    assert_good_client_served(&t);
    nt_server_stop(&t);
}

static void test_headers_too_large(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.cfg.max_header_bytes = 2048;
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "GET /h HTTP/1.1\r\nX-Big: ");
    char big[3000];
    memset(big, 'b', sizeof(big));
    nt_send(&c, big, sizeof(big));
    nt_sends(&c, "\r\n\r\n");
    assert_true(nt_wait_for(&c, "\r\n\r\n", 1));
    assert_int_equal(status_of(&c.in), 431);
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    nt_close(&c);
    assert_int_equal(t.headers, 0);
    struct oca_http_server_stats st;
    oca_http_server_get_stats(t.srv, &st);
    assert_true(st.protocol_errors >= 1);
    assert_good_client_served(&t);
    nt_server_stop(&t);
}

static void test_garbage_is_400(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    static const char garbage[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n";
    nt_send(&c, garbage, sizeof(garbage) - 1);
    assert_true(nt_wait_for(&c, "\r\n\r\n", 1));
    assert_int_equal(status_of(&c.in), 400);
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    nt_close(&c);
    assert_good_client_served(&t);
    nt_server_stop(&t);
}

/* A client that sends one header byte every 20 ms. */
struct trickle {
    struct nt_client *c;
    uv_timer_t timer;
    const char *text;
    size_t pos;
};

static void trickle_cb(uv_timer_t *tm)
{
    struct trickle *tr = tm->data;
    if (tr->c->eof || !tr->text[tr->pos]) {
        uv_timer_stop(tm);
        return;
    }
    nt_send(tr->c, tr->text + tr->pos, 1);
    tr->pos++;
}

static void test_slowloris_cut_by_read_header_timeout(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.cfg.read_header_timeout_ns = 300 * OCA_NS_PER_MS;
    nt_server_start(&t, NULL, NULL);
    struct nt_client slow;
    assert_true(nt_connect(&slow, &t.loop, port_of(&t)));
    struct trickle tr = { .c = &slow, .text = "GET /slow HTTP/1.1\r\nHost: x\r\nX-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" };
    uv_timer_init(&t.loop, &tr.timer);
    tr.timer.data = &tr;
    uv_timer_start(&tr.timer, trickle_cb, 20, 20);
    uint64_t t0 = uv_now(&t.loop);
    /* A good client is served while the slow one trickles. */
    assert_good_client_served(&t);
    assert_true(nt_wait_eof(&slow, NT_WAIT_MS));
    uint64_t took = uv_now(&t.loop) - t0;
    assert_true(took >= 250 && took < 3000);
    assert_true(tr.pos < strlen(tr.text));       /* cut before the headers were complete */
    assert_int_equal(status_of(&slow.in), 408);
    uv_timer_stop(&tr.timer);
    uv_close((uv_handle_t *)&tr.timer, NULL);
    nt_close(&slow);
    struct oca_http_server_stats st;
    oca_http_server_get_stats(t.srv, &st);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(t.headers, 1);   /* only the good client */
    nt_server_stop(&t);
}

static void test_silent_connection_cut(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.cfg.read_header_timeout_ns = 200 * OCA_NS_PER_MS;
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    assert_int_equal(c.in.len, 0);
    nt_close(&c);
    nt_server_stop(&t);
}

static void test_read_timeout_on_body(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.cfg.read_timeout_ns = 200 * OCA_NS_PER_MS;
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly some");
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    assert_int_equal(status_of(&c.in), 408);
    assert_int_equal(t.headers, 1);
    assert_int_equal(t.ends, 0);
    assert_int_equal(t.closes, 1);
    nt_close(&c);
    nt_server_stop(&t);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.cfg.idle_timeout_ns = 200 * OCA_NS_PER_MS;
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "GET /i HTTP/1.1\r\n\r\n");
    assert_true(nt_wait_for(&c, "GET /i 0 bytes", 1));
    uint64_t t0 = uv_now(&t.loop);
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    assert_true(uv_now(&t.loop) - t0 >= 150);
    nt_close(&c);
    struct oca_http_server_stats st;
    oca_http_server_get_stats(t.srv, &st);
    assert_int_equal(st.idle_closed, 1);
    nt_server_stop(&t);
}

static bool open_is(void *arg)
{
    struct nt_server *t = arg;
    struct oca_http_server_stats st;
    oca_http_server_get_stats(t->srv, &st);
    return st.open == 2;
}

static void test_max_connections(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.cfg.max_connections = 2;
    nt_server_start(&t, NULL, NULL);
    struct nt_client a, b, c;
    assert_true(nt_connect(&a, &t.loop, port_of(&t)));
    assert_true(nt_connect(&b, &t.loop, port_of(&t)));
    assert_true(oca_test_run_until(&t.loop, open_is, &t, NT_WAIT_MS));
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));        /* accepted and closed at once */
    assert_int_equal(c.in.len, 0);
    struct oca_http_server_stats st;
    oca_http_server_get_stats(t.srv, &st);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.open, 2);
    /* The two admitted ones are served. */
    nt_sends(&a, "GET /a HTTP/1.1\r\n\r\n");
    nt_sends(&b, "GET /b HTTP/1.1\r\n\r\n");
    assert_true(nt_wait_for(&a, "GET /a 0 bytes", 1));
    assert_true(nt_wait_for(&b, "GET /b 0 bytes", 1));
    nt_close(&c);
    nt_close(&a);
    nt_close(&b);
    nt_server_stop(&t);
}

static void test_answer_in_pieces_is_chunked(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "GET /pieces HTTP/1.1\r\n\r\n");
    assert_true(nt_wait_for(&c, "x-trailer: yes\r\n\r\n", 1));
    assert_non_null(strstr(c.in.data, "transfer-encoding: chunked\r\n"));
    assert_non_null(strstr(c.in.data, "\r\n\r\n6\r\nfirst,\r\n6\r\nsecond\r\n0\r\nx-trailer: yes\r\n\r\n"));
    /* Still usable afterwards. */
    nt_sends(&c, "GET /next HTTP/1.1\r\n\r\n");
    assert_true(nt_wait_for(&c, "GET /next 0 bytes", 1));
    nt_close(&c);

    /* HTTP/1.0 cannot take chunks: the answer ends with the connection. */
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "GET /pieces HTTP/1.0\r\n\r\n");
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    assert_null(strstr(c.in.data, "chunked"));
    assert_non_null(strstr(c.in.data, "\r\n\r\nfirst,second"));
    nt_close(&c);
    nt_server_stop(&t);
}

static void test_connection_close_honoured(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "GET /x HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n");
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    assert_non_null(strstr(c.in.data, "connection: close"));
    assert_null(strstr(c.in.data, "/ignored"));
    nt_close(&c);
    /* HTTP/1.0 with keep-alive stays open. */
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    nt_sends(&c, "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_true(nt_wait_for(&c, "GET /k 0 bytes", 1));
    assert_non_null(strstr(c.in.data, "connection: keep-alive"));
    nt_sends(&c, "GET /k2 HTTP/1.0\r\n\r\n");
    assert_true(nt_wait_for(&c, "GET /k2 0 bytes", 1));
    assert_true(nt_wait_eof(&c, NT_WAIT_MS));
    nt_close(&c);
    nt_server_stop(&t);
}

static bool streamed_at_least(void *arg)
{
    struct nt_server *t = arg;
    return t->paused != NULL;
}

static bool ends_is_one(void *arg)
{
    return ((struct nt_server *)arg)->ends == 1;
}

static void test_streaming_pause_stops_reading(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, port_of(&t)));
    size_t total = 8u * 1024 * 1024;
    char head[128];
    snprintf(head, sizeof(head), "POST /pause HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", total);
    nt_sends(&c, head);
    char *body = oca_xmalloc(total);
    memset(body, 'p', total);
    nt_send(&c, body, total);
    free(body);
    assert_true(oca_test_run_until(&t.loop, streamed_at_least, &t, NT_WAIT_MS));
    /* Paused: the loop runs, but no more body is handed over (the socket is not read). */
    size_t at_pause = t.streamed;
    oca_test_run_until(&t.loop, ends_is_one, &t, 300);
    assert_int_equal(t.streamed, at_pause);
    assert_true(at_pause < total);
    assert_int_equal(t.ends, 0);
    oca_http_stream_resume(t.paused);
    assert_true(oca_test_run_until(&t.loop, ends_is_one, &t, NT_WAIT_MS));
    assert_int_equal(t.streamed, total);
    char want[64];
    snprintf(want, sizeof(want), "POST /pause %zu bytes", total);
    assert_true(nt_wait_for(&c, want, 1));
    nt_close(&c);
    nt_server_stop(&t);
}

static void test_server_close_with_open_connections(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    nt_server_start(&t, NULL, NULL);
    struct nt_client a, b;
    assert_true(nt_connect(&a, &t.loop, port_of(&t)));
    assert_true(nt_connect(&b, &t.loop, port_of(&t)));
    nt_sends(&a, "POST /noanswer HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
    nt_sends(&b, "POST /partial HTTP/1.1\r\nContent-Length: 10\r\n\r\nx");
    assert_true(oca_test_run_until(&t.loop, ends_is_one, &t, NT_WAIT_MS));
    nt_server_shutdown(&t);
    assert_int_equal(t.headers, 2);
    assert_int_equal(t.closes, 2);
    assert_true(nt_wait_eof(&a, NT_WAIT_MS));
    assert_true(nt_wait_eof(&b, NT_WAIT_MS));
    nt_close(&a);
    nt_close(&b);
    nt_loop_finish(&t);
}

/* The memory connection used by the fuzz harness parses like a socket one. */
static void test_memory_connection(void **state)
{
    (void)state;
    struct nt_server t;
    setup_server(&t);
    t.srv = oca_http_server_new(&t.loop, &t.cfg, &nt_handler, &t, "mem");
    struct oca_conn *c = oca_conn_new_memory(t.srv);
    const char req[] = "POST /m HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /n HTTP/1.1\r\n\r\n";
    for (size_t i = 0; i < sizeof(req) - 1; i++)
        oca_conn_feed(c, (const uint8_t *)req + i, 1);
    assert_int_equal(t.ends, 2);
    assert_string_equal(t.last_path, "/n");
    oca_conn_feed(c, NULL, 0);
    oca_conn_free_memory(c);
    assert_int_equal(t.closes, 2);
    oca_http_server_free(t.srv);
    oca_buf_free(&t.last_body);
    assert_int_equal(uv_loop_close(&t.loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_pipelined_in_order),
        cmocka_unit_test(test_chunked_body),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_early_answer_small_body_keeps_connection),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_headers_too_large),
        cmocka_unit_test(test_garbage_is_400),
        cmocka_unit_test(test_slowloris_cut_by_read_header_timeout),
        cmocka_unit_test(test_silent_connection_cut),
        cmocka_unit_test(test_read_timeout_on_body),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_answer_in_pieces_is_chunked),
        cmocka_unit_test(test_connection_close_honoured),
        cmocka_unit_test(test_streaming_pause_stops_reading),
        cmocka_unit_test(test_server_close_with_open_connections),
        cmocka_unit_test(test_memory_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

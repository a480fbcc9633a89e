/* Checks a protobuf Export*ServiceRequest without decoding it and counts its items, for requests
 * handed on as their bytes (raw-only batches, pipeline/batch.h). It accepts exactly what the
 * decoding path accepts: protobuf-c's unpack (tags, wire types against the schema's field types,
 * lengths, packed arrays, unknown fields kept) plus the receiver's rule on trace and span id
 * lengths; test/fuzz/otlp_walk_fuzz.c compares the two. The walk follows the generated
 * descriptors, so it knows the schema without a copy of it, and allocates only to check a field
 * given twice. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/mem.h"
#include "codec/otlp_json.h"
#include "codec/proto_depth.h"
#include "receivers/otlp/otlp.h"

#define WALK_IDS 4

static atomic_size_t merge_bytes;

struct walk {
    enum oca_signal sig;
    char *why;
    size_t why_size;
    char id_why[160];           /* the first bad id seen (it may be in a oneof member replaced later) */
};

/* The tag as protobuf-c 1.4 reads it: at most 5 bytes, bits beyond 32 dropped, and field number 0
 * refused in a one-byte tag only (measured against the library: a longer tag of 0 is an unknown
 * field to it). 0: malformed. */
static size_t read_tag(const uint8_t *p, size_t rem, uint32_t *tag, unsigned *wt)
{
    size_t max = rem > 5 ? 5 : rem;
    uint32_t t = (uint32_t)(p[0] & 0x7f) >> 3;
    unsigned shift = 4;
    *wt = p[0] & 7;
    if (!(p[0] & 0x80)) {
        *tag = t;
        return t ? 1 : 0;
    }
    for (size_t i = 1; i < max; i++) {
        t |= (uint32_t)(p[i] & 0x7f) << shift;
        if (!(p[i] & 0x80)) {
            *tag = t;
            return i + 1;
        }
        shift += 7;
    }
    return 0;
}

/* A varint of at most 10 bytes within rem; 0: unterminated. */
static size_t varint_len(const uint8_t *p, size_t rem)
{
    size_t max = rem > 10 ? 10 : rem;
    for (size_t i = 0; i < max; i++)
        if (!(p[i] & 0x80))
            return i + 1;
    return 0;
}

/* Records why, unless w is NULL (a quiet scan) or a reason is recorded already; false. */
static bool fail(struct walk *w, const char *why)
{
    if (w && w->why_size && !w->why[0])
        snprintf(w->why, w->why_size, "%s", why);
    return false;
}

/* The wire type a singular value of type t must have; -1: any (protobuf-c reads a bool from
 * whatever it finds). */
static int wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return 5;
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 1;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return 2;
    case PROTOBUF_C_TYPE_BOOL:
        return -1;
    default:
        return 0;
    }
}

static bool packed_ok(struct walk *w, ProtobufCType t, const uint8_t *v, size_t n)
{
    switch (wire_type_of(t)) {
    case 5:
        return n % 4 == 0 || fail(w, "packed 32-bit array of a length not a multiple of 4");
    case 1:
        return n % 8 == 0 || fail(w, "packed 64-bit array of a length not a multiple of 8");
    case -1:
        for (size_t i = 0; i < n; i++)
            if (v[i] > 1)
                return fail(w, "packed bool array with a value other than 0 or 1");
        return true;
    default:
        for (size_t at = 0; at < n;) {
            size_t k = varint_len(v + at, n - at);
            if (!k)
                return fail(w, "bad varint in a packed array");
            at += k;
        }
        return true;
    }
}

/* Trace ids are 16 bytes and span ids 8, or absent (export.c's rule for decoded requests). */
static size_t id_length(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_REPEATED ? 0 : oca_otlp_id_size(f);
}

/* Levels on the way to the items (see oca_batch_levels): 0 the request, 1 a resource entry, 2 a
 * scope entry, 3 a metric, 4 a metric's data message; -1 anything else. */
static int child_level(enum oca_signal sig, int level, uint32_t tag)
{
    switch (level) {
    case 0:
        return tag == 1 ? 1 : -1;
    case 1:
        return tag == 2 ? 2 : -1;
    case 2:
        return tag == 2 && sig == OCA_SIGNAL_METRICS ? 3 : -1;
    case 3:
        return tag == 5 || tag == 7 || tag == 9 || tag == 10 || tag == 11 ? 4 : -1;
    default:
        return -1;
    }
}

static bool is_item(enum oca_signal sig, int level, uint32_t tag)
{
    return tag == (sig == OCA_SIGNAL_METRICS ? 1u : 2u) && level == (sig == OCA_SIGNAL_METRICS ? 4 : 2);
}

/* The field at *at of the len bytes at p, as protobuf-c scans it: its tag, wire type and value
 * (for length-delimited fields, the bytes after the length); *at moves past it. */
static bool next_field(struct walk *w, const uint8_t *p, size_t len, size_t *at, uint32_t *tag, unsigned *wt,
                       const uint8_t **v, size_t *vlen)
{
    size_t used = read_tag(p + *at, len - *at, tag, wt);
    if (!used)
        return fail(w, "bad field tag");
    *at += used;
    size_t rem = len - *at, flen, pref = 0;
    switch (*wt) {
    case 0:
        flen = varint_len(p + *at, rem);
        if (!flen)
            return fail(w, "unterminated varint");
        break;
    case 1:
        if (rem < 8)
            return fail(w, "truncated 64-bit value");
        flen = 8;
        break;
    case 5:
        if (rem < 4)
            return fail(w, "truncated 32-bit value");
        flen = 4;
        break;
    case 2: {
        /* At most 5 bytes, whose 35 bits count in full (a length of 2^32 does not wrap to 0). */
        size_t max = rem < 5 ? rem : 5, i;
        uint64_t n = 0;
        for (i = 0; i < max; i++) {
            n |= (uint64_t)(p[*at + i] & 0x7f) << (7 * i);
            if (!(p[*at + i] & 0x80))
                break;
        }
        if (i == max)
            return fail(w, "bad length prefix");
        pref = i + 1;
        if (pref + n > rem)
            return fail(w, "length beyond the end of the message");
        flen = pref + (size_t)n;
        break;
    }
    default:
        return fail(w, "unsupported wire type (groups are not protobuf 3)");
    }
    *v = p + *at + pref;
    *vlen = flen - pref;
    *at += flen;
    return true;
}

/* A field protobuf-c merges when it is given more than once: a singular message outside a oneof
 * (a oneof's member given again replaces the earlier one). */
static bool merges(const ProtobufCFieldDescriptor *f)
{
    return f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
           !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
}

/* Whether field occurs in the message p after at. Quiet: malformed bytes there are the main
 * scan's to report, in its order. */
static bool given_again(const uint8_t *p, size_t len, size_t at, uint32_t field)
{
    while (at < len) {
        uint32_t tag;
        unsigned wt;
        const uint8_t *v;
        size_t vlen;
        if (!next_field(NULL, p, len, &at, &tag, &wt, &v, &vlen))
            return false;
        if (tag == field)
            return true;
    }
    return false;
}

/* The bytes of field's occurrences in the message p, copied in order to out unless it is NULL. */
static size_t gather(struct walk *w, const uint8_t *p, size_t len, uint32_t field, uint8_t *out)
{
    size_t n = 0, at = 0;
    while (at < len) {
        size_t from = at;
        uint32_t tag;
        unsigned wt;
        const uint8_t *v;
        size_t vlen;
        if (!next_field(w, p, len, &at, &tag, &wt, &v, &vlen))
            break;                          /* not reached: the message was scanned already */
        if (tag == field) {
            if (out)
                memcpy(out + n, p + from, at - from);
            n += at - from;
        }
    }
    return n;
}

/* A singular message field given more than once is merged by protobuf-c (merge_messages), which
 * fails on some inputs (two AnyValues with no value set, for one: it looks up oneof case 0). Its
 * outcome depends only on the field's occurrences, so they are gathered, in order, into a
 * message of their own and unpacked for the verdict (rare: encoders write a field once). */
static bool merge_ok(struct walk *w, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
                     uint32_t field)
{
    size_t n = gather(w, p, len, field, NULL);
    uint8_t *only = oca_xmalloc(n ? n : 1);
    gather(w, p, len, field, only);
    atomic_fetch_add_explicit(&merge_bytes, n, memory_order_relaxed);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, only);
    free(only);
    if (!m)
        return fail(w, "a message field given twice that cannot be merged");
    protobuf_c_message_free_unpacked(m, NULL);
    return true;
}

size_t oca_otlp_walk_merge_bytes(void)
{
    return atomic_load_explicit(&merge_bytes, memory_order_relaxed);
}

/* Returns whether p is a valid message of type d; *bad_id says whether its decoding would hold a
 * trace or span id of a wrong length. Ids count as they would in the decoded message: the last
 * occurrence of an id field wins, and a oneof keeps only its last member (protobuf-c frees the
 * others), so an id inside a replaced member does not count.
 * merged: p lies inside the occurrences of a field that an enclosing message's merge_ok hands to
 * protobuf-c. That unpack takes each occurrence whole, merges inside it included, with the same
 * bytes and descriptor as the decoding would, so it judges every merge within p, and p's own are
 * not checked again (the walk still checks the rest of p: depth, ids, counts, a precise reason).
 * So each byte of a request reaches merge_ok at most once, and the merge work is at most one
 * unpack of the request, as on the decoding path. Checking the merges at every level made it
 * depth x size: a 1.35 MB request giving a KeyValue's value twice at each of 31 levels of
 * nesting took 12 G instructions to walk, against 0.3 G to decode. A budget of merged bytes
 * would bound it too, but refuse requests that protobuf-c accepts. */
static bool walk_message(struct walk *w, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
                         int level, int depth, bool merged, uint64_t *items, bool *bad_id)
{
    /* The decoding path's bound (codec/proto_depth.h), counted the same way: the request is
     * depth 0 here and message 1 there, so both refuse the 101st level of nesting. */
    if (depth >= OCA_PROTO_MAX_DEPTH)
        return fail(w, "messages nested too deeply");
    /* The last length seen of each id field, and whether each oneof's last member has a bad id. */
    struct { const ProtobufCFieldDescriptor *f; size_t len; } ids[WALK_IDS];
    struct { unsigned quantifier; bool bad; } oneofs[WALK_IDS];
    int n_ids = 0, n_oneofs = 0;
    bool bad = false;
    /* Outside merged bytes: merging fields seen, and those given twice, by index in d->fields
     * (OTLP messages have fewer than 64 fields; past that every one counts as given twice). At
     * its first occurrence a field's later ones are looked for (a scan of the fields after it,
     * once per field), so that its values are walked knowing whether they are merged here. */
    uint64_t seen = 0, twice = 0;
    bool twice_far = false;
    const ProtobufCFieldDescriptor *last = NULL;
    uint64_t n = 0;
    size_t at = 0;
    while (at < len) {
        uint32_t tag;
        unsigned wt;
        const uint8_t *v;
        size_t vlen;
        if (!next_field(w, p, len, &at, &tag, &wt, &v, &vlen))
            return false;
        const ProtobufCFieldDescriptor *f =
            last && last->id == tag ? last : protobuf_c_message_descriptor_get_field(d, tag);
        if (!f)
            continue;                       /* unknown: kept by protobuf-c, valid here */
        last = f;
        if (f->label == PROTOBUF_C_LABEL_REPEATED && wt == 2 && wire_type_of(f->type) != 2) {
            if (!packed_ok(w, f->type, v, vlen))
                return false;
            continue;
        }
        int want = wire_type_of(f->type);
        if (want >= 0 && (unsigned)want != wt)
            return fail(w, "wire type does not match the field's type");
        bool child_bad = false, child_merged = merged;
        if (!merged && merges(f)) {
            size_t k = (size_t)(f - d->fields);
            uint64_t bit = (uint64_t)1 << (k & 63);
            if (k >= 64) {
                twice_far = true;
            } else if (!(seen & bit)) {
                seen |= bit;
                if (at < len && given_again(p, len, at, tag))
                    twice |= bit;
            }
            child_merged = k >= 64 || (twice & bit);
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            int cl = level >= 0 ? child_level(w->sig, level, tag) : -1;
            uint64_t sub = 0;
            if (!walk_message(w, f->descriptor, v, vlen, cl, depth + 1, child_merged, &sub, &child_bad))
                return false;
            if (level == 3 && cl == 4)
                n = sub;                    /* the data oneof: the last member replaces */
            else
                n += sub;
            if (level >= 0 && is_item(w->sig, level, tag))
                n++;
        } else if (f->type == PROTOBUF_C_TYPE_BYTES && id_length(f)) {
            int k = 0;
            while (k < n_ids && ids[k].f != f)
                k++;
            if (k == WALK_IDS)
                return fail(w, "too many id fields");
            if (k == n_ids)
                ids[n_ids++].f = f;
            ids[k].len = vlen;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            int k = 0;
            while (k < n_oneofs && oneofs[k].quantifier != f->quantifier_offset)
                k++;
            if (k == WALK_IDS)
                return fail(w, "too many oneofs");
            if (k == n_oneofs)
                oneofs[n_oneofs++].quantifier = f->quantifier_offset;
            oneofs[k].bad = child_bad;
        } else {
            bad |= child_bad;
        }
    }
    for (unsigned k = 0; k < d->n_fields && (twice || twice_far); k++)
        if ((k >= 64 ? twice_far : (twice >> k) & 1) && merges(&d->fields[k]) &&
            !merge_ok(w, d, p, len, d->fields[k].id))
            return false;
    for (int k = 0; k < n_oneofs; k++)
        bad |= oneofs[k].bad;
    for (int k = 0; k < n_ids; k++) {
        size_t want = id_length(ids[k].f);
        if (ids[k].len && ids[k].len != want) {
            if (!w->id_why[0])
                snprintf(w->id_why, sizeof(w->id_why), "%s of %zu bytes, expected %zu (or none)",
                         ids[k].f->name, ids[k].len, want);
            bad = true;
        }
    }
    *items = n;
    *bad_id = bad;
    return true;
}

int oca_otlp_walk(enum oca_signal sig, const uint8_t *data, size_t len, uint64_t *items, char *why, size_t why_size)
{
    struct walk w = { .sig = sig, .why = why, .why_size = why_size };
    const ProtobufCMessageDescriptor *d = oca_batch_descriptor(sig);
    *items = 0;
    if (why_size)
        why[0] = '\0';
    if (!d)
        return fail(&w, "unknown signal"), OCA_ERR_DECODE;
    bool bad_id = false;
    if (!walk_message(&w, d, data, len, 0, 0, false, items, &bad_id)) {
        *items = 0;
        return OCA_ERR_DECODE;
    }
    if (bad_id) {
        *items = 0;
        return fail(&w, w.id_why), OCA_ERR_DECODE;
    }
    return OCA_OK;
}

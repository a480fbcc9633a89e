/* The nesting bound of proto_depth.h: one pass over the wire format that descends only into
 * fields the schema says are messages, itself recursing at most max_depth deep. */
#include "codec/proto_depth.h"

/* Reads a varint at p (at most rem bytes); returns its length, or 0 when it is cut short or over
 * ten bytes. */
static size_t read_varint(const uint8_t *p, size_t rem, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < rem && i < 10; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

bool oca_proto_depth_ok(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, int max_depth)
{
    if (max_depth < 1)
        return false;
    size_t at = 0;
    while (at < len) {
        uint64_t key, v;
        size_t n = read_varint(data + at, len - at, &key);
        if (!n)
            return true;
        at += n;
        switch (key & 7) {
        case 0:
            n = read_varint(data + at, len - at, &v);
            if (!n)
                return true;
            at += n;
            break;
        case 1:
            if (len - at < 8)
                return true;
            at += 8;
            break;
        case 5:
            if (len - at < 4)
                return true;
            at += 4;
            break;
        case 2: {
            n = read_varint(data + at, len - at, &v);
            if (!n || v > len - at - n)
                return true;
            at += n;
            uint64_t tag = key >> 3;
            const ProtobufCFieldDescriptor *f =
                tag <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)tag) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !oca_proto_depth_ok(f->descriptor, data + at, (size_t)v, max_depth - 1))
                return false;
            at += (size_t)v;
            break;
        }
        default:
            return true;
        }
    }
    return true;
}

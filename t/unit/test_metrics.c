/*
 * The metrics zone's core: the layout check that decides whether a reload
 * keeps the counters, histogram buckets, label escaping.
 */

#include "tap.h"

#include "sg_metrics.h"


static uint64_t
layout(uint32_t methods, const char *last)
{
    uint64_t  h;

    h = sg_metrics_hash_u64(SG_METRICS_HASH_INIT, methods);
    h = sg_metrics_hash_str(h, "signed", 6);
    h = sg_metrics_hash_str(h, last, strlen(last));

    return h;
}


static void
test_layout(void)
{
    uint64_t             h;
    sg_metrics_header_t  hdr, zero;

    h = layout(15, "invalid_json");

    tap_ok(h == layout(15, "invalid_json"),
           "the layout hash is the same for the same layout");
    tap_ok(h != layout(16, "invalid_json"),
           "another counter count is another layout");
    tap_ok(h != layout(15, "invalid_jsom"),
           "another label name is another layout");
    tap_ok(sg_metrics_hash_str(sg_metrics_hash_str(SG_METRICS_HASH_INIT,
                                                   "ab", 2), "c", 1)
           != sg_metrics_hash_str(sg_metrics_hash_str(SG_METRICS_HASH_INIT,
                                                      "a", 1), "bc", 2),
           "label names are hashed with their ends (\"ab\" \"c\" is not "
           "\"a\" \"bc\")");
    tap_ok(sg_metrics_hash(SG_METRICS_HASH_INIT, "a", 1)
           == 0xaf63dc4c8601ec8cull,
           "FNV-1a 64 of \"a\" is the published value");

    memset(&zero, 0, sizeof(zero));
    tap_ok(!sg_metrics_header_match(&zero, 1, h, 4096),
           "a fresh (zeroed) zone is not taken for a layout");
    tap_ok(!sg_metrics_header_match(NULL, 1, h, 4096),
           "no old block: nothing to keep");

    sg_metrics_header_set(&hdr, 1, h, 4096);
    tap_ok(sg_metrics_header_match(&hdr, 1, h, 4096),
           "the same version, hash and size: the block is kept");
    tap_ok(!sg_metrics_header_match(&hdr, 2, h, 4096),
           "another layout version: a fresh block");
    tap_ok(!sg_metrics_header_match(&hdr, 1, h ^ 1, 4096),
           "another layout hash (labels, counters): a fresh block");
    tap_ok(!sg_metrics_header_match(&hdr, 1, h, 4104),
           "another block size: a fresh block");

    hdr.magic ^= 0x100;
    tap_ok(!sg_metrics_header_match(&hdr, 1, h, 4096),
           "no magic (some other use of the memory): a fresh block");
}


static void
test_buckets(void)
{
    static const uint64_t  b[] = { 500000, 1000000, 5000000 };

    tap_ok(sg_metrics_bucket(b, 3, 0) == 0, "0 goes in the first bucket");
    tap_ok(sg_metrics_bucket(b, 3, 500000) == 0,
           "a value equal to a bound goes in its bucket (le)");
    tap_ok(sg_metrics_bucket(b, 3, 500001) == 1,
           "one above a bound goes in the next bucket");
    tap_ok(sg_metrics_bucket(b, 3, 5000000) == 2, "the last bound");
    tap_ok(sg_metrics_bucket(b, 3, 5000001) == 3, "above all bounds: +Inf");
}


static void
test_escape(void)
{
    char    out[32];
    size_t  n;

    n = sg_metrics_escape(out, sizeof(out), "pool-1", 6);
    tap_ok(n == 6 && memcmp(out, "pool-1", 6) == 0,
           "a plain value is copied as it is");

    n = sg_metrics_escape(out, sizeof(out), "a\"b\\c\nd", 7);
    tap_ok(n == 10 && memcmp(out, "a\\\"b\\\\c\\nd", 10) == 0,
           "\", \\ and newline are escaped");

    memset(out, 'x', sizeof(out));
    n = sg_metrics_escape(out, 3, "ab\"cd", 5);
    tap_ok(n == 6 && memcmp(out, "abx", 3) == 0,
           "a value that does not fit: the length it needs, no escape cut "
           "in half, nothing past the room");
}


int
main(void)
{
    test_layout();
    test_buckets();
    test_escape();

    return tap_done();
}

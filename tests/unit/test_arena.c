/* test_arena.c - arenas, buffers and the string map. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <magpie/arena.h>
#include <magpie/buf.h>
#include <magpie/xml.h>

#include "harness.h"
#include "map.h"

static int cleanup_order[4];
static int cleanup_n;

static void
record(void *arg)
{
	cleanup_order[cleanup_n++] = (int)(intptr_t)arg;
}

MP_TEST(arena_alloc_is_zeroed_and_aligned)
{
	struct mp_arena *a = mp_arena_new();

	for (size_t i = 1; i < 5000; i += 37) {
		unsigned char *p = mp_arena_alloc(a, i);

		CHECK(((uintptr_t)p % _Alignof(max_align_t)) == 0);
		for (size_t j = 0; j < i; j++)
			CHECK(p[j] == 0);
		memset(p, 0xab, i);
	}
	mp_arena_free(a);
}

MP_TEST(arena_large_allocation_and_strings)
{
	struct mp_arena *a = mp_arena_new();
	char *big = mp_arena_alloc(a, 1 << 20);
	char *s = mp_arena_strdup(a, "hello");

	big[(1 << 20) - 1] = 'x';
	CHECK_STR(s, "hello");
	CHECK_STR(mp_arena_strndup(a, "abcdef", 3), "abc");
	CHECK_STR(mp_arena_printf(a, "%s-%d", "n", 42), "n-42");
	CHECK(mp_arena_size(a) >= (1 << 20));
	mp_arena_free(a);
}

MP_TEST(arena_cleanups_run_last_first)
{
	struct mp_arena *a = mp_arena_new();

	cleanup_n = 0;
	mp_arena_on_free(a, record, (void *)1);
	mp_arena_on_free(a, record, (void *)2);
	mp_arena_on_free(a, record, (void *)3);
	mp_arena_free(a);
	CHECK(cleanup_n == 3);
	CHECK(cleanup_order[0] == 3 && cleanup_order[2] == 1);
}

MP_TEST(buf_append_printf_drain)
{
	struct mp_buf b = MP_BUF_INIT;

	for (int i = 0; i < 1000; i++)
		mp_buf_printf(&b, "%d,", i);
	CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
	CHECK(b.data[b.len] == '\0');
	mp_buf_drain(&b, 2);
	CHECK(strncmp(b.data, "1,2,", 4) == 0);
	mp_buf_drain(&b, b.len + 5);
	CHECK(b.len == 0);
	mp_buf_append(&b, "a\0b", 3);
	CHECK(b.len == 3 && b.data[2] == 'b');
	mp_buf_free(&b);
	CHECK(b.data == NULL);
}

MP_TEST(map_put_get_del_many)
{
	struct mp_map m = { 0 };
	static char keys[2000][16];

	for (int i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "user%d@host", i);
		mp_map_put(&m, keys[i], strlen(keys[i]), &keys[i]);
	}
	CHECK(m.count == 2000);
	for (int i = 0; i < 2000; i++)
		CHECK(mp_map_get(&m, keys[i], strlen(keys[i])) == &keys[i]);
	CHECK(mp_map_get(&m, "nobody", 6) == NULL);
	for (int i = 0; i < 2000; i += 2)
		CHECK(mp_map_del(&m, keys[i], strlen(keys[i])) == &keys[i]);
	CHECK(m.count == 1000);
	CHECK(mp_map_get(&m, keys[0], strlen(keys[0])) == NULL);
	CHECK(mp_map_get(&m, keys[1], strlen(keys[1])) == &keys[1]);
	CHECK(mp_map_del(&m, "nobody", 6) == NULL);
	mp_map_clear(&m);
	CHECK(m.count == 0);
}

MP_TEST(xml_parse_round_trip)
{
	struct mp_arena *a = mp_arena_new();
	struct mp_buf b = MP_BUF_INIT;
	const char *xml = "<message to='a@b' type='chat'><body>x &amp; y</body>"
	    "<x xmlns='urn:test'/></message>";
	struct mp_node *n = mp_xml_parse(a, xml, strlen(xml), MP_NS_CLIENT);

	CHECK(n != NULL);
	CHECK_STR(n->name, "message");
	CHECK_STR(n->xmlns, MP_NS_CLIENT);
	mp_xml_serialize(&b, n, MP_NS_CLIENT);
	CHECK_STR(b.data, xml);
	mp_buf_free(&b);
	CHECK(mp_xml_parse(a, "<a/><b/>", 8, MP_NS_CLIENT) == NULL);
	CHECK(mp_xml_parse(a, "<a>", 3, MP_NS_CLIENT) == NULL);
	CHECK(mp_xml_parse(a, "<!-- c --><a/>", 14, MP_NS_CLIENT) == NULL);
	CHECK(mp_xml_parse(a, "", 0, MP_NS_CLIENT) == NULL);
	mp_arena_free(a);
}

/* test_hooks.c - the event bus: priority order, ties, HANDLED stops, owners, lookup by pieces. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "hooks.h"

static char trail[64];

#define HANDLER(name, ch, verdict)				\
static enum mp_verdict						\
name(struct mp_event *ev, void *arg)				\
{								\
	size_t n = strlen(trail);				\
	trail[n] = ch;						\
	trail[n + 1] = '\0';					\
	return verdict;						\
}

HANDLER(h_a, 'a', MP_PASS)
HANDLER(h_b, 'b', MP_PASS)
HANDLER(h_c, 'c', MP_PASS)
HANDLER(h_d, 'd', MP_HANDLED)
HANDLER(h_e, 'e', MP_PASS)

MP_TEST(hooks_priority_then_registration_order)
{
	struct mp_event ev = { 0 };
	unsigned id;

	mp_hooks_reset();
	id = mp_event_intern("message/bare");
	mp_hooks_add(id, h_a, NULL, MP_PRIO_NORMAL, NULL, NULL);
	mp_hooks_add(id, h_b, NULL, MP_PRIO_POLICY, NULL, NULL);
	mp_hooks_add(id, h_c, NULL, MP_PRIO_NORMAL, NULL, NULL);
	mp_hooks_add(id, h_e, NULL, MP_PRIO_FALLBACK, NULL, NULL);
	trail[0] = '\0';
	CHECK(mp_hooks_fire(id, &ev) == MP_PASS);
	CHECK_STR(trail, "bace");
	mp_hooks_reset();
}

MP_TEST(hooks_handled_stops_dispatch)
{
	struct mp_event ev = { 0 };
	unsigned id;

	mp_hooks_reset();
	id = mp_event_intern("iq-get/host/urn:xmpp:ping:ping");
	mp_hooks_add(id, h_a, NULL, MP_PRIO_NORMAL, NULL, NULL);
	mp_hooks_add(id, h_d, NULL, MP_PRIO_NORMAL, NULL, NULL);
	mp_hooks_add(id, h_e, NULL, MP_PRIO_FALLBACK, NULL, NULL);
	trail[0] = '\0';
	CHECK(mp_hooks_fire(id, &ev) == MP_HANDLED);
	CHECK_STR(trail, "ad");
	mp_hooks_reset();
}

MP_TEST(hooks_find_by_pieces_without_joining)
{
	struct mp_slice pieces[] = {
		{ "iq-get", 6 }, { "/", 1 }, { "host", 4 }, { "/", 1 },
		{ "urn:xmpp:ping", 13 }, { ":", 1 }, { "ping", 4 },
	};
	struct mp_slice other[] = { { "iq-get/host/urn:xmpp:ping:pin", 29 } };
	unsigned id;

	mp_hooks_reset();
	CHECK(mp_event_find(pieces, 7) == 0);
	id = mp_event_intern("iq-get/host/urn:xmpp:ping:ping");
	CHECK(id != 0);
	CHECK(mp_event_find(pieces, 7) == id);
	CHECK(mp_event_find(other, 1) == 0);
	CHECK(mp_event_intern("iq-get/host/urn:xmpp:ping:ping") == id);
	/* Many names: ids stay distinct and stable across growth. */
	for (int i = 0; i < 3000; i++) {
		char name[32];

		snprintf(name, sizeof(name), "event/%d", i);
		CHECK(mp_event_intern(name) != id);
	}
	CHECK(mp_event_find(pieces, 7) == id);
	mp_hooks_reset();
}

MP_TEST(hooks_remove_owner_leaves_others)
{
	struct mp_event ev = { 0 };
	int owner1, owner2;
	unsigned id;

	mp_hooks_reset();
	id = mp_event_intern("presence/bare");
	mp_hooks_add(id, h_a, NULL, MP_PRIO_NORMAL, &owner1, "one");
	mp_hooks_add(id, h_b, NULL, MP_PRIO_NORMAL, &owner2, "two");
	mp_hooks_add(id, h_c, NULL, MP_PRIO_NORMAL, &owner1, "one");
	mp_hooks_remove_owner(&owner1);
	trail[0] = '\0';
	mp_hooks_fire(id, &ev);
	CHECK_STR(trail, "b");
	CHECK(mp_hooks_any(id));
	mp_hooks_remove_owner(&owner2);
	CHECK(!mp_hooks_any(id));
	CHECK(mp_hooks_fire(0, &ev) == MP_PASS);
	CHECK(mp_hooks_fire_name("never/interned", &ev) == MP_PASS);
	mp_hooks_reset();
}

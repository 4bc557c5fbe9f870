/* test_sm.c - XEP-0198 acknowledgement arithmetic, including the 32-bit wrap-around. */
#include <stdint.h>

#include "c2s.h"
#include "harness.h"

MP_TEST(sm_ack_counts)
{
	uint32_t n = 99;

	CHECK(mp_sm_newly_acked(0, 0, 0, &n) == 0 && n == 0);
	CHECK(mp_sm_newly_acked(0, 5, 3, &n) == 0 && n == 3);
	CHECK(mp_sm_newly_acked(3, 5, 5, &n) == 0 && n == 2);
	/* The same h again acknowledges nothing new. */
	CHECK(mp_sm_newly_acked(5, 5, 5, &n) == 0 && n == 0);
}

MP_TEST(sm_ack_too_high)
{
	uint32_t n;

	CHECK(mp_sm_newly_acked(0, 5, 6, &n) == -1);
	CHECK(mp_sm_newly_acked(3, 5, 2, &n) == -1);	/* going back */
	CHECK(mp_sm_newly_acked(0, 0, 1, &n) == -1);
}

MP_TEST(sm_ack_wraps_at_2_32)
{
	uint32_t n;

	/* 2^32 - 2 acknowledged, 4 more sent: out has wrapped to 2. */
	CHECK(mp_sm_newly_acked(UINT32_MAX - 1, 2, 1, &n) == 0 && n == 3);
	CHECK(mp_sm_newly_acked(UINT32_MAX - 1, 2, 2, &n) == 0 && n == 4);
	CHECK(mp_sm_newly_acked(UINT32_MAX - 1, 2, UINT32_MAX, &n) == 0 &&
	    n == 1);
	CHECK(mp_sm_newly_acked(UINT32_MAX - 1, 2, 3, &n) == -1);
	CHECK(mp_sm_newly_acked(UINT32_MAX - 1, 2, UINT32_MAX - 2, &n) == -1);
}

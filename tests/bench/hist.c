/* hist.c - latency histograms with 32 log buckets per power of two. */
#include "bench.h"

static unsigned
hist_index(uint64_t v)
{
	unsigned e, idx;

	if (v < 64)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	idx = (e - 5) * 32 + (unsigned)(v >> (e - 5));
	return idx < BENCH_HIST_BUCKETS ? idx : BENCH_HIST_BUCKETS - 1;
}

/* The largest value that falls into bucket idx. */
static uint64_t
hist_value(unsigned idx)
{
	unsigned e, m;

	if (idx < 64)
		return idx;
	e = idx / 32 + 4;
	m = idx % 32 + 32;
	return (((uint64_t)m + 1) << (e - 5)) - 1;
}

void
bench_hist_add(struct bench_hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

uint64_t
bench_hist_quantile(const struct bench_hist *h, double q)
{
	uint64_t want, seen = 0, v;
	unsigned i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)(q * (double)h->count + 0.999999);
	if (want == 0)
		want = 1;
	for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			v = hist_value(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

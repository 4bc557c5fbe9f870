/* bench.c - magpie-bench: the scenarios' pacing, the options and the report. */
#include <sys/resource.h>

#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define BENCH_TICK_US	1000
/* Bytes queued on a sender before a message is skipped. */
#define BENCH_BACKLOG	(256 * 1024)

enum bench_phase {
	PHASE_RAMP,	/* logging users in */
	PHASE_SETTLE,	/* all in; let the server calm down */
	PHASE_FILL,	/* mam: filling the archives */
	PHASE_RUN,	/* measuring */
	PHASE_DRAIN,	/* waiting for the last deliveries */
	PHASE_DONE,
};

/* A reading of the watched server. */
struct bench_proc {
	double		 cpu;		/* utime + stime, seconds */
	long		 pss_kb;
	long		 anon_kb;	/* Pss_Anon: the heap, without mapped files */
	long		 rss_kb;
};

static struct bench B;
static enum bench_phase bench_phase;
static uint64_t bench_t_phase, bench_t_run, bench_t_end;
static long bench_next_user = 1;
static int bench_step;
static struct bench_proc bench_p0, bench_p1;
static double bench_self0, bench_self1;	/* our own cpu seconds */
static long bench_step_n[16], bench_step_pss[16], bench_step_anon[16];
static double bench_step_cpu[16];
static uint64_t bench_rng = 0x9e3779b97f4a7c15ULL;
static char *bench_msg;	/* a message being built */
static bool bench_filled;
static volatile sig_atomic_t bench_interrupted;

uint64_t
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t
bench_random(void)
{
	bench_rng ^= bench_rng << 13;
	bench_rng ^= bench_rng >> 7;
	bench_rng ^= bench_rng << 17;
	return bench_rng;
}

void
bench_error(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->last_error, sizeof(b->last_error), fmt, ap);
	va_end(ap);
	if (b->nerrors++ == 0)
		memcpy(b->first_error, b->last_error, sizeof(b->first_error));
	if (b->nerrors <= 5)
		fprintf(stderr, "magpie-bench: %s\n", b->last_error);
}

static double
bench_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
bench_read_proc(int pid, struct bench_proc *p)
{
	char path[64], line[512], *s;
	unsigned long ut = 0, st = 0;
	FILE *f;

	memset(p, 0, sizeof(*p));
	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(line, sizeof(line), f) != NULL &&
		    (s = strrchr(line, ')')) != NULL &&
		    sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u"
		    " %lu %lu", &ut, &st) == 2)
			p->cpu = (double)(ut + st) /
			    (double)sysconf(_SC_CLK_TCK);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "Pss:", 4) == 0)
				p->pss_kb = atol(line + 4);
			else if (strncmp(line, "Pss_Anon:", 9) == 0)
				p->anon_kb = atol(line + 9);
			else if (strncmp(line, "Rss:", 4) == 0)
				p->rss_kb = atol(line + 4);
		}
		fclose(f);
	}
}

void
bench_on_online(struct bench_conn *c)
{
	struct bench *b = c->b;

	c->online_idx = b->nonline;
	b->online[b->nonline++] = c;
	bench_conn_send(c, "<presence/>", 11);
}

void
bench_on_message(struct bench_conn *c, const char *st, size_t len)
{
	const char *p = memmem(st, len, "MPB:", 4);
	uint64_t sent_ns, now;

	if (c->b->scen == BENCH_S_MAM) {
		bench_mam_message(c, st, len);
		return;
	}
	if (p == NULL)
		return;
	sent_ns = strtoull(p + 4, NULL, 10);
	now = bench_now();
	c->b->delivered++;
	bench_hist_add(&c->b->msg_lat, now > sent_ns ?
	    (now - sent_ns) / 1000 : 0);
}

void
bench_on_iq(struct bench_conn *c, const char *st, size_t len)
{
	if (c->b->scen == BENCH_S_MAM)
		bench_mam_iq(c, st, len);
}

void
bench_on_offline(struct bench_conn *c)
{
	if (c->b->scen == BENCH_S_MAM)
		bench_mam_offline(c);
}

static void
bench_send_message(struct bench *b)
{
	struct bench_conn *from, *to;
	char head[512];
	int hl, body;

	if (b->nonline < 2) {
		b->backlog++;
		return;
	}
	from = b->online[bench_random() % (uint64_t)b->nonline];
	do
		to = b->online[bench_random() % (uint64_t)b->nonline];
	while (to == from);
	if (bench_conn_queued(from) > BENCH_BACKLOG) {
		b->backlog++;
		return;
	}
	hl = snprintf(head, sizeof(head), "<message to='%s%d@%s' type='chat'"
	    " id='m%" PRIu64 "'><body>", b->user_prefix, to->user, b->domain,
	    b->sent);
	/* The body is the send time, padded to the message size. */
	body = snprintf(head + hl, sizeof(head) - (size_t)hl,
	    "MPB:%" PRIu64 ":", bench_now());
	memcpy(bench_msg, head, (size_t)(hl + body));
	hl += body;
	if (body < b->msg_size) {
		memset(bench_msg + hl, 'x', (size_t)(b->msg_size - body));
		hl += b->msg_size - body;
	}
	memcpy(bench_msg + hl, "</body></message>", 17);
	/* One write per message: a stanza split over segments would also
	 * measure the server's reassembly, and cost us syscalls. */
	bench_conn_send(from, bench_msg, (size_t)hl + 17);
	b->sent++;
}

static long
bench_target_users(void)
{
	return bench_step < B.nsteps ? B.steps[bench_step] : B.users;
}

/* Opens logins up to the concurrency limit, towards the current step. */
static void
bench_ramp(struct bench *b)
{
	while (b->inflight < b->concurrency &&
	    bench_next_user <= bench_target_users()) {
		bench_conn_open(b, (int)bench_next_user, false);
		bench_next_user++;
	}
}

static double
bench_secs(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e9;
}

static void
bench_start_run(struct bench *b, uint64_t now)
{
	bench_phase = PHASE_RUN;
	bench_t_run = bench_t_phase = now;
	bench_read_proc(b->pid, &bench_p0);
	bench_self0 = bench_self_cpu();
}

/* The open-loop arrivals of the run that are due by now. */
static double
bench_due(struct bench *b, uint64_t now)
{
	double t = bench_secs(bench_t_run, now);

	/* A late tick must not stretch the run. */
	return b->rate * (t < b->duration ? t : b->duration);
}

static void
bench_tick_sessions(struct bench *b, uint64_t now)
{
	switch (bench_phase) {
	case PHASE_RAMP:
		bench_ramp(b);
		if (bench_next_user > bench_target_users() &&
		    b->inflight == 0) {
			bench_phase = PHASE_SETTLE;
			bench_t_phase = now;
		}
		break;
	case PHASE_SETTLE:
		if (bench_secs(bench_t_phase, now) < b->settle)
			break;
		if (bench_step < b->nsteps) {
			struct bench_proc p;

			bench_read_proc(b->pid, &p);
			bench_step_n[bench_step] = b->nonline;
			bench_step_pss[bench_step] = p.pss_kb;
			bench_step_anon[bench_step] = p.anon_kb;
			bench_step_cpu[bench_step] = p.cpu;
			printf("step %d: %d online, server pss %ld KB, anon %ld "
			    "KB\n", bench_step, b->nonline, p.pss_kb, p.anon_kb);
			fflush(stdout);
			bench_step++;
			if (bench_step < b->nsteps) {
				bench_phase = PHASE_RAMP;
				break;
			}
		}
		if (b->scen == BENCH_S_MAM && !bench_filled) {
			bench_phase = PHASE_FILL;
			bench_mam_fill_start(b);
			break;
		}
		bench_start_run(b, now);
		b->sent = b->delivered = 0;
		break;
	case PHASE_FILL:
		if (!bench_mam_fill_tick(b, now))
			break;
		/* The server may still be writing the archive down. */
		bench_filled = true;
		bench_phase = PHASE_SETTLE;
		bench_t_phase = now;
		break;
	case PHASE_RUN:
		if (b->scen == BENCH_S_CHAT) {
			double due = bench_due(b, now);

			while ((double)(b->sent + b->backlog) < due)
				bench_send_message(b);
		} else if (b->scen == BENCH_S_MAM) {
			double due = bench_due(b, now);

			while ((double)(b->queries + b->missed) < due)
				if (!bench_mam_query(b))
					b->missed++;
		}
		if (bench_secs(bench_t_run, now) >= b->duration) {
			bench_phase = PHASE_DRAIN;
			bench_t_end = bench_t_phase = now;
		}
		break;
	case PHASE_DRAIN:
		if ((b->delivered + b->msg_errors >= b->sent &&
		    bench_mam_pending(b) == 0) ||
		    bench_secs(bench_t_phase, now) >= b->drain) {
			bench_mam_expire(b, now, true);
			bench_t_end = now;
			bench_phase = PHASE_DONE;
		}
		break;
	case PHASE_DONE:
		break;
	}
}

static void
bench_tick_login(struct bench *b, uint64_t now)
{
	static uint64_t launched;

	switch (bench_phase) {
	case PHASE_RAMP:
	case PHASE_SETTLE:
	case PHASE_FILL:
		bench_start_run(b, now);
		/* FALLTHROUGH */
	case PHASE_RUN:
		while ((double)launched < b->rate * bench_secs(bench_t_run,
		    now)) {
			launched++;
			if (b->inflight >= b->concurrency) {
				b->missed++;
				continue;
			}
			bench_conn_open(b, (int)(bench_next_user++ %
			    b->users) + 1, true);
		}
		if (bench_secs(bench_t_run, now) >= b->duration) {
			bench_phase = PHASE_DRAIN;
			bench_t_phase = now;
		}
		break;
	case PHASE_DRAIN:
		if (b->inflight == 0 || bench_secs(bench_t_phase, now) >=
		    b->timeout) {
			bench_t_end = now;
			bench_phase = PHASE_DONE;
		}
		break;
	default:
		break;
	}
}

static void
bench_tick(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	static uint64_t last_expire;
	uint64_t now = bench_now();

	bench_conn_reap(b);
	if (now - last_expire > 1000000000ULL) {
		last_expire = now;
		bench_conn_expire(b);
		bench_mam_expire(b, now, false);
	}
	if (b->scen == BENCH_S_LOGIN || b->scen == BENCH_S_HANDSHAKE)
		bench_tick_login(b, now);
	else
		bench_tick_sessions(b, now);
	if (bench_phase == PHASE_DONE || bench_interrupted) {
		if (bench_t_end == 0)
			bench_t_end = now;
		event_base_loopbreak(b->base);
	}
}

static double
bench_ms(uint64_t us)
{
	return (double)us / 1000.0;
}

/* Writes the JSON report; the error is stripped of what needs escaping. */
static int
bench_json(struct bench *b, bool failed, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bench_json(struct bench *b, bool failed, const char *fmt, ...)
{
	va_list ap;
	FILE *f;
	int i;

	if (b->json_path == NULL)
		return 0;
	if ((f = fopen(b->json_path, "w")) == NULL) {
		fprintf(stderr, "magpie-bench: %s: %s\n", b->json_path,
		    strerror(errno));
		return -1;
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fprintf(f, ", \"steps\": [");
	for (i = 0; i < b->nsteps; i++)
		fprintf(f, "%s{\"sessions\": %ld, \"pss_kb\": %ld, "
		    "\"anon_kb\": %ld}", i > 0 ? ", " : "", bench_step_n[i],
		    bench_step_pss[i], bench_step_anon[i]);
	fprintf(f, "], \"error\": \"");
	for (i = 0; b->first_error[i] != '\0'; i++)
		if (b->first_error[i] != '"' && b->first_error[i] != '\\' &&
		    (unsigned char)b->first_error[i] >= 32)
			fputc(b->first_error[i], f);
	fprintf(f, "\", \"failed\": %s}\n", failed ? "true" : "false");
	return fclose(f) == 0 ? 0 : -1;
}

static void
bench_print_lat(const char *label, const struct bench_hist *h)
{
	printf("%-19s p50 %.2f p99 %.2f p99.9 %.2f max %.2f\n", label,
	    bench_ms(bench_hist_quantile(h, 0.5)),
	    bench_ms(bench_hist_quantile(h, 0.99)),
	    bench_ms(bench_hist_quantile(h, 0.999)), bench_ms(h->max));
}

static int
bench_report(struct bench *b)
{
	double secs = bench_t_end > bench_t_run ?
	    bench_secs(bench_t_run, bench_t_end) : 0;
	double run = b->scen == BENCH_S_CHAT ? b->duration : secs;
	double cpu = b->pid > 0 ? bench_p1.cpu - bench_p0.cpu : 0;
	bool chat = b->scen == BENCH_S_CHAT, mam = b->scen == BENCH_S_MAM;
	bool opens = b->scen == BENCH_S_LOGIN || b->scen == BENCH_S_HANDSHAKE;
	const char *op = b->scen == BENCH_S_HANDSHAKE ? "handshake" : "login";
	const struct bench_hist *lat = chat ? &b->msg_lat : mam ?
	    &b->query_lat : &b->login_lat;
	uint64_t lost = chat && b->sent > b->delivered + b->msg_errors ?
	    b->sent - b->delivered - b->msg_errors : 0;
	uint64_t ops = opens ? b->logins_ok : mam ? b->query_lat.count : 0;
	double per_op = b->pid > 0 && ops > 0 ? cpu * 1000 / (double)ops : 0;
	double rpq = mam && ops > 0 ? (double)b->query_results /
	    (double)ops : 0;
	double slope = 0, anon_slope = 0;
	char label[32];
	int i, fails;

	if (b->nsteps >= 2 && bench_step_n[b->nsteps - 1] > bench_step_n[0])
	{
		slope = (double)(bench_step_pss[b->nsteps - 1] -
		    bench_step_pss[0]) / (double)(bench_step_n[b->nsteps - 1] -
		    bench_step_n[0]);
		anon_slope = (double)(bench_step_anon[b->nsteps - 1] -
		    bench_step_anon[0]) / (double)(bench_step_n[b->nsteps - 1] -
		    bench_step_n[0]);
	}
	printf("scenario            %s\n", b->scenario);
	printf("users               %d (online at end %d)\n", b->users,
	    b->nonline);
	snprintf(label, sizeof(label), "%ss ok / errors", op);
	printf("%-19s %" PRIu64 " / %" PRIu64 "\n", label, b->logins_ok,
	    b->login_errors);
	snprintf(label, sizeof(label), "%s ms", op);
	bench_print_lat(label, &b->login_lat);
	if (opens) {
		snprintf(label, sizeof(label), "%s rate", op);
		printf("%-19s %.1f/s offered %.1f/s (missed %" PRIu64 ")\n",
		    label, secs > 0 ? (double)b->logins_ok / secs : 0, b->rate,
		    b->missed);
	}
	if (chat) {
		printf("messages            sent %" PRIu64 " delivered %" PRIu64
		    " lost %" PRIu64 " errors %" PRIu64 " skipped %" PRIu64
		    "\n", b->sent, b->delivered, lost, b->msg_errors,
		    b->backlog);
		printf("delivered rate      %.1f/s (offered %.1f/s)\n",
		    run > 0 ? (double)b->delivered / run : 0, b->rate);
		bench_print_lat("latency ms", &b->msg_lat);
	}
	if (mam) {
		printf("fill                %" PRIu64 " sent, %" PRIu64
		    " delivered, %" PRIu64 " lost in %.2f s (%.0f/s)\n",
		    b->fill_sent, b->fill_delivered, b->fill_lost, b->fill_secs,
		    b->fill_secs > 0 ? (double)b->fill_delivered /
		    b->fill_secs : 0);
		printf("queries ok / errors %" PRIu64 " / %" PRIu64
		    " (missed %" PRIu64 ", message errors %" PRIu64 ")\n",
		    b->queries_ok, b->query_errors, b->missed, b->msg_errors);
		printf("query rate          %.1f/s answered, offered %.1f/s,"
		    " page %d\n", secs > 0 ? (double)ops / secs : 0, b->rate,
		    b->page);
		printf("results per query   %.1f\n", rpq);
		bench_print_lat("query ms", &b->query_lat);
	}
	printf("sessions dropped    %" PRIu64 "\n", b->drops);
	if (b->pid > 0) {
		printf("server cpu          %.2f s over %.2f s, pss %ld KB\n",
		    cpu, secs, bench_p1.pss_kb);
		if (ops > 0) {
			snprintf(label, sizeof(label), "server cpu/%s",
			    mam ? "query" : op);
			printf("%-19s %.3f ms\n", label, per_op);
		}
		if (chat && b->delivered > 0)
			printf("server cpu/1000 msg %.4f s\n",
			    cpu * 1000 / (double)b->delivered);
		for (i = 0; i < b->nsteps; i++)
			printf("pss step            %ld sessions: %ld KB\n",
			    bench_step_n[i], bench_step_pss[i]);
		if (slope > 0)
			printf("pss per session     %.2f KB (anonymous %.2f "
			    "KB)\n", slope, anon_slope);
	}
	printf("generator cpu       %.2f s\n", bench_self1 - bench_self0);
	printf("scram cache         %" PRIu64 " hits, %" PRIu64 " misses\n",
	    b->scram_cache_hits, b->scram_cache_misses);
	fails = b->login_errors > 0 || b->drops > 0 || b->msg_errors > 0 ||
	    lost > 0 || b->query_errors > 0 || b->fill_lost > 0 ||
	    bench_interrupted;
	if (mam)
		printf("summary: %s mam users=%d logins=%" PRIu64
		    " errors=%" PRIu64 " queries=%" PRIu64 " results=%.1f"
		    " p99=%.2fms\n", fails ? "FAIL" : "OK", b->users,
		    b->logins_ok, b->login_errors + b->drops + b->msg_errors +
		    b->query_errors + b->fill_lost, b->queries_ok, rpq,
		    bench_ms(bench_hist_quantile(lat, 0.99)));
	else
		printf("summary: %s %s users=%d %ss=%" PRIu64
		    " errors=%" PRIu64 " sent=%" PRIu64 " delivered=%" PRIu64
		    " p99=%.2fms\n", fails ? "FAIL" : "OK", b->scenario,
		    b->users, op, b->logins_ok, b->login_errors + b->drops +
		    b->msg_errors, b->sent, b->delivered,
		    bench_ms(bench_hist_quantile(lat, 0.99)));
	/* One shape for every network scenario; p50_ms and its kin are the
	 * scenario's own latency (message, query, else login). */
	if (bench_json(b, fails, "{\"scenario\": \"%s\", \"users\": %d,"
	    " \"online\": %d, \"duration\": %.3f, \"rate\": %.1f,"
	    " \"msg_size\": %d,"
	    " \"logins_ok\": %" PRIu64 ", \"login_errors\": %" PRIu64 ","
	    " \"drops\": %" PRIu64 ", \"missed\": %" PRIu64 ","
	    " \"login_rate\": %.2f,"
	    " \"login_p50_ms\": %.3f, \"login_p99_ms\": %.3f,"
	    " \"sent\": %" PRIu64 ", \"delivered\": %" PRIu64 ","
	    " \"lost\": %" PRIu64 ", \"msg_errors\": %" PRIu64 ","
	    " \"skipped\": %" PRIu64 ", \"delivered_rate\": %.2f,"
	    " \"fill_sent\": %" PRIu64 ", \"fill_delivered\": %" PRIu64 ","
	    " \"fill_lost\": %" PRIu64 ", \"fill_s\": %.3f, \"page\": %d,"
	    " \"queries\": %" PRIu64 ", \"queries_ok\": %" PRIu64 ","
	    " \"query_errors\": %" PRIu64 ", \"query_rate\": %.2f,"
	    " \"results_per_query\": %.2f,"
	    " \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f,"
	    " \"max_ms\": %.3f, \"server_cpu_s\": %.3f,"
	    " \"server_cpu_per_op_ms\": %.4f,"
	    " \"server_pss_kb\": %ld, \"pss_per_session_kb\": %.3f,"
	    " \"anon_per_session_kb\": %.3f,"
	    " \"generator_cpu_s\": %.3f", b->scenario, b->users, b->nonline,
	    secs, b->rate, b->msg_size, b->logins_ok, b->login_errors,
	    b->drops, b->missed,
	    opens && secs > 0 ? (double)b->logins_ok / secs : 0,
	    bench_ms(bench_hist_quantile(&b->login_lat, 0.5)),
	    bench_ms(bench_hist_quantile(&b->login_lat, 0.99)), b->sent,
	    b->delivered, lost, b->msg_errors, b->backlog,
	    run > 0 ? (double)b->delivered / run : 0, b->fill_sent,
	    b->fill_delivered, b->fill_lost, b->fill_secs, b->page,
	    b->queries, b->queries_ok, b->query_errors,
	    mam && secs > 0 ? (double)ops / secs : 0, rpq,
	    bench_ms(bench_hist_quantile(lat, 0.5)),
	    bench_ms(bench_hist_quantile(lat, 0.99)),
	    bench_ms(bench_hist_quantile(lat, 0.999)), bench_ms(lat->max),
	    cpu, per_op, bench_p1.pss_kb, slope, anon_slope,
	    bench_self1 - bench_self0) < 0)
		return 1;
	return fails ? 1 : 0;
}

/*
 * PBKDF2 alone, with the SCRAM hash: the server's share of a login that
 * no protocol work can remove.  Timed in our own CPU time, so the clock
 * does not count what the other jobs of the machine take from us.
 */
static int
bench_run_pbkdf2(struct bench *b)
{
	unsigned char salt[16], out[64];
	const char *mech = b->mech == BENCH_MECH_SCRAM_SHA256 ?
	    "scram-sha-256" : "scram-sha-1";
	double cpu0, cpu = 0, per;
	uint64_t n = 0, t0, t;
	size_t i;
	bool fails;

	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (unsigned char)bench_random();
	cpu0 = bench_self_cpu();
	t0 = bench_now();
	do {
		t = bench_now();
		if (bench_pbkdf2(b->mech, b->password, salt, sizeof(salt),
		    b->iterations, out) < 0) {
			bench_error(b, "gnutls_pbkdf2 failed");
			break;
		}
		bench_hist_add(&b->login_lat, (bench_now() - t) / 1000);
		n++;
		cpu = bench_self_cpu() - cpu0;
	} while (cpu < b->duration && !bench_interrupted);
	per = n > 0 ? cpu * 1000 / (double)n : 0;
	printf("scenario            pbkdf2\n");
	printf("hash                %s, %u iterations\n", mech, b->iterations);
	printf("pbkdf2 done         %" PRIu64 " in %.2f s cpu, %.2f s\n", n,
	    cpu, bench_secs(t0, bench_now()));
	printf("cpu/pbkdf2          %.3f ms\n", per);
	bench_print_lat("wall ms", &b->login_lat);
	fails = b->nerrors > 0 || bench_interrupted;
	printf("summary: %s pbkdf2 mech=%s iterations=%u count=%" PRIu64
	    " cpu_ms=%.3f\n", fails ? "FAIL" : "OK", mech, b->iterations, n,
	    per);
	if (bench_json(b, fails, "{\"scenario\": \"pbkdf2\", \"mech\": \"%s\","
	    " \"iterations\": %u, \"count\": %" PRIu64 ", \"cpu_s\": %.3f,"
	    " \"pbkdf2_cpu_ms\": %.4f, \"p50_ms\": %.3f, \"p99_ms\": %.3f",
	    mech, b->iterations, n, cpu, per,
	    bench_ms(bench_hist_quantile(&b->login_lat, 0.5)),
	    bench_ms(bench_hist_quantile(&b->login_lat, 0.99))) < 0)
		return 1;
	return fails ? 1 : 0;
}

static int
bench_parse_src(struct bench *b, const char *spec)
{
	char first[32], *dash;
	struct in_addr a, z;
	uint32_t i, lo, hi;

	snprintf(first, sizeof(first), "%s", spec);
	if ((dash = strchr(first, '-')) != NULL)
		*dash++ = '\0';
	if (inet_pton(AF_INET, first, &a) != 1 || (dash != NULL &&
	    inet_pton(AF_INET, dash, &z) != 1))
		return -1;
	lo = ntohl(a.s_addr);
	hi = dash != NULL ? ntohl(z.s_addr) : lo;
	if (hi < lo || hi - lo > 1024)
		return -1;
	b->nsrc = (int)(hi - lo + 1);
	if ((b->src = calloc((size_t)b->nsrc, sizeof(*b->src))) == NULL)
		abort();
	for (i = 0; i <= hi - lo; i++)
		b->src[i].s_addr = htonl(lo + i);
	return 0;
}

static void
bench_usage(void)
{
	fprintf(stderr,
"usage: magpie-bench [options] idle|login|chat|handshake|pbkdf2|mam\n"
"  --host ADDR (127.0.0.1)  --port N (5222)  --domain D (localhost)\n"
"  --tls none|starttls|direct (starttls)\n"
"  --mech plain|scram-sha-1|scram-sha-256 (scram-sha-1)\n"
"  --users N (100): user1..userN  --user-prefix P (user)\n"
"  --password PW (bench)  --resource R (bench)\n"
"  --duration SECS (10)  --rate R (logins, messages or queries/s, 100)\n"
"  --size BYTES (100, message body)  --concurrency N (100 logins in flight)\n"
"  --src A[-B] (source addresses, round robin)  --priority GNUTLS-PRIO\n"
"  --pid PID (server to read cpu and pss of)  --steps N,N,... (idle)\n"
"  --settle SECS (1)  --drain SECS (5)  --timeout SECS (30)\n"
"  --iterations N (4096, pbkdf2)  --fill N (200, mam: messages per user)\n"
"  --page N (50, mam: RSM page size)\n"
"  --json FILE\n");
	exit(2);
}

static void
bench_on_signal(int sig)
{
	bench_interrupted = 1;
}

static void
bench_options(struct bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "domain", required_argument, NULL, 'd' },
		{ "tls", required_argument, NULL, 't' },
		{ "mech", required_argument, NULL, 'm' },
		{ "users", required_argument, NULL, 'u' },
		{ "user-prefix", required_argument, NULL, 'U' },
		{ "password", required_argument, NULL, 'P' },
		{ "resource", required_argument, NULL, 'R' },
		{ "duration", required_argument, NULL, 'D' },
		{ "rate", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "src", required_argument, NULL, 'S' },
		{ "priority", required_argument, NULL, 'y' },
		{ "pid", required_argument, NULL, 'i' },
		{ "steps", required_argument, NULL, 'n' },
		{ "settle", required_argument, NULL, 'e' },
		{ "drain", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "json", required_argument, NULL, 'j' },
		{ "iterations", required_argument, NULL, 'I' },
		{ "fill", required_argument, NULL, 'F' },
		{ "page", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	/* In the order of enum bench_scenario. */
	static const char *const names[] = { "idle", "login", "chat",
	    "handshake", "pbkdf2", "mam", NULL };
	const char *host = "127.0.0.1";
	char *s, *tok;
	int ch;

	b->port = 5222;
	b->domain = "localhost";
	b->tls = BENCH_TLS_STARTTLS;
	b->mech = BENCH_MECH_SCRAM_SHA1;
	b->users = 100;
	b->user_prefix = "user";
	b->password = "bench";
	b->resource = "bench";
	b->duration = 10;
	b->rate = 100;
	b->msg_size = 100;
	b->concurrency = 100;
	b->settle = 1;
	b->drain = 5;
	b->timeout = 30;
	b->priority = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
	b->iterations = 4096;
	b->fill = 200;
	b->page = 50;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'H': host = optarg; break;
		case 'p': b->port = atoi(optarg); break;
		case 'd': b->domain = optarg; break;
		case 't':
			if (strcmp(optarg, "none") == 0)
				b->tls = BENCH_TLS_NONE;
			else if (strcmp(optarg, "starttls") == 0)
				b->tls = BENCH_TLS_STARTTLS;
			else if (strcmp(optarg, "direct") == 0)
				b->tls = BENCH_TLS_DIRECT;
			else
				bench_usage();
			break;
		case 'm':
			if (strcasecmp(optarg, "plain") == 0)
				b->mech = BENCH_MECH_PLAIN;
			else if (strcasecmp(optarg, "scram-sha-1") == 0)
				b->mech = BENCH_MECH_SCRAM_SHA1;
			else if (strcasecmp(optarg, "scram-sha-256") == 0)
				b->mech = BENCH_MECH_SCRAM_SHA256;
			else
				bench_usage();
			break;
		case 'u': b->users = atoi(optarg); break;
		case 'U': b->user_prefix = optarg; break;
		case 'P': b->password = optarg; break;
		case 'R': b->resource = optarg; break;
		case 'D': b->duration = atof(optarg); break;
		case 'r': b->rate = atof(optarg); break;
		case 's': b->msg_size = atoi(optarg); break;
		case 'c': b->concurrency = atoi(optarg); break;
		case 'S':
			if (bench_parse_src(b, optarg) < 0)
				bench_usage();
			break;
		case 'y': b->priority = optarg; break;
		case 'i': b->pid = atoi(optarg); break;
		case 'n':
			s = strdup(optarg);
			for (tok = strtok(s, ","); tok != NULL && b->nsteps <
			    16; tok = strtok(NULL, ","))
				b->steps[b->nsteps++] = atol(tok);
			break;
		case 'e': b->settle = atof(optarg); break;
		case 'a': b->drain = atof(optarg); break;
		case 'T': b->timeout = atof(optarg); break;
		case 'j': b->json_path = optarg; break;
		case 'I': b->iterations = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'F': b->fill = atoi(optarg); break;
		case 'g': b->page = atoi(optarg); break;
		default: bench_usage();
		}
	}
	if (optind + 1 != argc)
		bench_usage();
	b->scenario = argv[optind];
	for (ch = 0; names[ch] != NULL; ch++)
		if (strcmp(b->scenario, names[ch]) == 0)
			break;
	if (names[ch] == NULL)
		bench_usage();
	b->scen = (enum bench_scenario)ch;
	if (b->users < 1 || b->port < 1 || b->port > 65535 ||
	    b->concurrency < 1 || b->rate <= 0 || b->msg_size < 0 ||
	    b->msg_size > 1000000 || b->duration < 0 ||
	    strlen(b->password) > 200 || strlen(b->user_prefix) > 64 ||
	    strlen(b->domain) > 200)
		bench_usage();
	if ((b->scen == BENCH_S_CHAT || b->scen == BENCH_S_MAM) &&
	    b->users < 2)
		bench_usage();
	if (b->scen == BENCH_S_HANDSHAKE && b->tls == BENCH_TLS_NONE)
		bench_usage();
	if (b->scen == BENCH_S_PBKDF2 && (b->mech == BENCH_MECH_PLAIN ||
	    b->iterations < 1 || b->iterations > 10000000))
		bench_usage();
	if (b->scen == BENCH_S_MAM && (b->fill < 0 || b->fill > 1000000 ||
	    b->page < 1 || b->page > 100000))
		bench_usage();
	b->host = host;
	b->dst.sin_family = AF_INET;
	b->dst.sin_port = htons((uint16_t)b->port);
	if (inet_pton(AF_INET, host, &b->dst.sin_addr) != 1) {
		fprintf(stderr, "magpie-bench: --host wants an IPv4 address\n");
		exit(2);
	}
	for (ch = 0; ch < b->nsteps; ch++)
		if (b->steps[ch] < 1 || b->steps[ch] > b->users ||
		    (ch > 0 && b->steps[ch] <= b->steps[ch - 1]))
			bench_usage();
}

int
main(int argc, char **argv)
{
	struct bench *b = &B;
	struct event *tick;
	struct rlimit rl;
	struct timeval tv = { 0, BENCH_TICK_US };
	const char *err;
	int rc;

	bench_options(b, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, bench_on_signal);
	signal(SIGTERM, bench_on_signal);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	bench_rng ^= (uint64_t)getpid() << 20 ^ bench_now();
	if (b->scen == BENCH_S_PBKDF2) {
		if (gnutls_global_init() < 0)
			return 2;
		rc = bench_run_pbkdf2(b);
		gnutls_global_deinit();
		return rc;
	}
	if ((bench_msg = malloc((size_t)b->msg_size + 1024)) == NULL ||
	    (b->online = calloc((size_t)b->users + 1,
	    sizeof(*b->online))) == NULL)
		abort();
	if (gnutls_global_init() < 0 ||
	    gnutls_certificate_allocate_credentials(&b->cred) < 0 ||
	    gnutls_priority_init(&b->prio, b->priority, &err) < 0) {
		fprintf(stderr, "magpie-bench: bad TLS priority %s\n",
		    b->priority);
		return 2;
	}
	if ((b->base = event_base_new()) == NULL)
		abort();
	tick = event_new(b->base, -1, EV_PERSIST, bench_tick, b);
	event_add(tick, &tv);
	bench_phase = PHASE_RAMP;
	event_base_dispatch(b->base);
	bench_read_proc(b->pid, &bench_p1);
	bench_self1 = bench_self_cpu();
	rc = bench_report(b);
	while (b->conns != NULL)
		bench_conn_fail(b->conns, NULL);
	bench_conn_reap(b);
	event_free(tick);
	event_base_free(b->base);
	gnutls_priority_deinit(b->prio);
	gnutls_certificate_free_credentials(b->cred);
	gnutls_global_deinit();
	free(b->online);
	free(b->src);
	free(bench_msg);
	bench_mam_free();
	return rc;
}

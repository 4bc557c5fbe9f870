/* module.c - the module loader and what modules register: hooks, features, identities. */
#include <dlfcn.h>
#include <stdbool.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <magpie/module.h>

#include "hooks.h"
#include "server.h"
#include "modules.h"

struct mp_module_ctx {
	const struct mp_module	*mod;
	void			*dl;
	void			*conf;
	int			 state;	/* 0 opening, 1 opened, 2 loaded */
};

struct feature {
	struct mp_module_ctx	*owner;
	char			*var;
	bool			 account;	/* on accounts' disco#info */
};

struct identity {
	struct mp_module_ctx	*owner;
	char			*category, *type, *name;
};

struct provider {
	struct mp_module_ctx	*owner;
	char			*name;
	const void		*vtable;
};

struct mp_timer {
	struct mp_timer		*next;
	struct mp_module_ctx	*owner;
	struct event		*ev;
	void			(*fn)(void *);
	void			*arg;
};

static struct mp_module_ctx **mods;
static struct provider *providers;
static size_t nproviders;
static struct mp_timer *timers;	/* dependency order */
static size_t nmods;
static struct feature *features;
static size_t nfeatures;
static struct identity *identities;
static size_t nidentities;

int
mp_hook(struct mp_module_ctx *mc, const char *event, mp_hook_fn *fn,
    void *arg, int priority, const char **error_r)
{
	if (event == NULL || *event == '\0' || fn == NULL) {
		*error_r = "mp_hook: empty event name or handler";
		return -1;
	}
	mp_hooks_add(mp_event_intern(event), fn, arg, priority, mc,
	    mc != NULL ? mc->mod->name : NULL);
	return 0;
}

int
mp_hook_all(struct mp_module_ctx *mc, const struct mp_hook_spec *hooks,
    size_t n, const char **error_r)
{
	for (size_t i = 0; i < n; i++)
		if (mp_hook(mc, hooks[i].event, hooks[i].fn, NULL,
		    hooks[i].priority, error_r) == -1)
			return -1;
	return 0;
}

static void
feature_add(struct mp_module_ctx *mc, const char *var, bool account)
{
	for (size_t i = 0; i < nfeatures; i++)
		if (features[i].account == account &&
		    strcmp(features[i].var, var) == 0)
			return;
	features = mp_xrealloc(features, (nfeatures + 1) * sizeof(*features));
	features[nfeatures].owner = mc;
	features[nfeatures].var = mp_xstrdup(var);
	features[nfeatures].account = account;
	nfeatures++;
}

void
mp_add_feature(struct mp_module_ctx *mc, const char *var)
{
	feature_add(mc, var, false);
}

void
mp_add_account_feature(struct mp_module_ctx *mc, const char *var)
{
	feature_add(mc, var, true);
}

void
mp_add_identity(struct mp_module_ctx *mc, const char *category,
    const char *type, const char *name)
{
	struct identity *id;

	identities = mp_xrealloc(identities,
	    (nidentities + 1) * sizeof(*identities));
	id = &identities[nidentities++];
	id->owner = mc;
	id->category = mp_xstrdup(category);
	id->type = mp_xstrdup(type);
	id->name = name != NULL ? mp_xstrdup(name) : NULL;
}

const char *
mp_module_name(const struct mp_module_ctx *mc)
{
	return mc->mod->name;
}

void
mp_features_foreach(mp_feature_cb *cb, void *arg)
{
	for (size_t i = 0; i < nfeatures; i++)
		if (!features[i].account)
			cb(features[i].var, arg);
}

void
mp_account_features_foreach(mp_feature_cb *cb, void *arg)
{
	for (size_t i = 0; i < nfeatures; i++)
		if (features[i].account)
			cb(features[i].var, arg);
}

void
mp_identities_foreach(mp_identity_cb *cb, void *arg)
{
	for (size_t i = 0; i < nidentities; i++)
		cb(identities[i].category, identities[i].type,
		    identities[i].name, arg);
}

void
mp_provide(struct mp_module_ctx *mc, const char *name, const void *vtable)
{
	providers = mp_xrealloc(providers, (nproviders + 1) *
	    sizeof(*providers));
	providers[nproviders].owner = mc;
	providers[nproviders].name = mp_xstrdup(name);
	providers[nproviders].vtable = vtable;
	nproviders++;
}

const void *
mp_provider(const char *name)
{
	for (size_t i = nproviders; i > 0; i--)
		if (strcmp(providers[i - 1].name, name) == 0)
			return providers[i - 1].vtable;
	return NULL;
}

static void
timer_unlink(struct mp_timer *t)
{
	for (struct mp_timer **p = &timers; *p != NULL; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	event_free(t->ev);
	free(t);
}

static void
timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct mp_timer *t = arg;
	void (*fn)(void *) = t->fn;
	void *farg = t->arg;
	const char *name = t->owner != NULL ? t->owner->mod->name : NULL;

	timer_unlink(t);
	mp_log_set_prefix(name);
	fn(farg);
	mp_log_set_prefix(NULL);
}

struct mp_timer *
mp_timer_add(struct mp_module_ctx *mc, long msec, void (*fn)(void *),
    void *arg)
{
	struct mp_timer *t = mp_xcalloc(1, sizeof(*t));
	struct timeval tv = { msec / 1000, (msec % 1000) * 1000 };

	t->owner = mc;
	t->fn = fn;
	t->arg = arg;
	t->ev = evtimer_new(mp_srv.base, timer_fire, t);
	if (t->ev == NULL)
		mp_fatalx("evtimer_new failed");
	evtimer_add(t->ev, &tv);
	t->next = timers;
	timers = t;
	return t;
}

void
mp_timer_cancel(struct mp_timer *t)
{
	if (t != NULL)
		timer_unlink(t);
}

static void
registry_remove_owner(struct mp_module_ctx *mc)
{
	size_t i, j;
	struct mp_timer *t, *tnext;

	for (t = timers; t != NULL; t = tnext) {
		tnext = t->next;
		if (t->owner == mc)
			timer_unlink(t);
	}
	for (i = j = 0; i < nproviders; i++) {
		if (providers[i].owner == mc)
			free(providers[i].name);
		else
			providers[j++] = providers[i];
	}
	nproviders = j;
	if (nproviders == 0) {
		free(providers);
		providers = NULL;
	}

	for (i = j = 0; i < nfeatures; i++) {
		if (features[i].owner == mc)
			free(features[i].var);
		else
			features[j++] = features[i];
	}
	nfeatures = j;
	for (i = j = 0; i < nidentities; i++) {
		if (identities[i].owner == mc) {
			free(identities[i].category);
			free(identities[i].type);
			free(identities[i].name);
		} else
			identities[j++] = identities[i];
	}
	nidentities = j;
	if (nfeatures == 0) {
		free(features);
		features = NULL;
	}
	if (nidentities == 0) {
		free(identities);
		identities = NULL;
	}
}

static void
report_fmt(mp_conf_report_fn *report, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
report_fmt(mp_conf_report_fn *report, void *arg, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(msg, arg);
}

static struct mp_module_ctx *
module_find(const char *name)
{
	for (size_t i = 0; i < nmods; i++)
		if (strcmp(mods[i]->mod->name, name) == 0)
			return mods[i];
	return NULL;
}

static int
module_valid_name(const char *name)
{
	if (*name == '\0' || strlen(name) > 64)
		return 0;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_'))
			return 0;
	return 1;
}

/* Opens one module after its dependencies; depth guards against cycles. */
static int
module_open(struct mp_config *c, const char *name, int depth, int index,
    mp_conf_report_fn *report, void *arg)
{
	char path[PATH_MAX], where[PATH_MAX + 16];
	const struct mp_module *m;
	struct mp_module_ctx *mc;
	void *dl;

	if (module_find(name) != NULL)
		return 0;
	mp_config_where(c, "modules", index, where, sizeof(where));
	if (depth > 16) {
		report_fmt(report, arg, "%s: module %s: dependency cycle",
		    where, name);
		return -1;
	}
	if (!module_valid_name(name)) {
		report_fmt(report, arg, "%s: bad module name \"%s\"", where,
		    name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/mod_%s.so", c->module_path, name);
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		report_fmt(report, arg, "%s: module %s: %s", where, name,
		    dlerror());
		return -1;
	}
	m = dlsym(dl, "mp_module");
	if (m == NULL || m->abi != MP_MODULE_ABI ||
	    m->size != sizeof(struct mp_module) || m->name == NULL ||
	    strcmp(m->name, name) != 0 || m->load == NULL) {
		report_fmt(report, arg, "%s: module %s: %s", where, name,
		    m == NULL ? "no mp_module symbol" :
		    "ABI or declaration mismatch (rebuild the module)");
		dlclose(dl);
		return -1;
	}
	for (const char *const *d = m->depends; d != NULL && *d != NULL; d++)
		if (module_open(c, *d, depth + 1, index, report, arg) ==
		    -1) {
			dlclose(dl);
			return -1;
		}
	mc = mp_xcalloc(1, sizeof(*mc));
	mc->mod = m;
	mc->dl = dl;
	mc->conf = mp_xcalloc(1, m->conf_size ? m->conf_size : 1);
	mods = mp_xrealloc(mods, (nmods + 1) * sizeof(*mods));
	mods[nmods++] = mc;
	if (m->directives != NULL && mp_config_section(c, name, m->directives,
	    mc->conf, report, arg) == -1)
		return -1;
	mc->state = 1;
	return 0;
}

int
mp_modules_open(struct mp_config *c, mp_conf_report_fn *report, void *arg)
{
	const char **sections;
	int rc = 0;

	for (int i = 0; c->modules != NULL && c->modules[i] != NULL; i++)
		if (module_open(c, c->modules[i], 0, i, report, arg) == -1)
			rc = -1;
	sections = mp_xcalloc(nmods + 1, sizeof(*sections));
	for (size_t i = 0; i < nmods; i++)
		sections[i] = mods[i]->mod->name;
	if (mp_config_check_unknown(c, sections, report, arg) == -1)
		rc = -1;
	free(sections);
	return rc;
}

int
mp_modules_start(const char **error_r)
{
	static char msg[512];
	const char *err;

	for (size_t i = 0; i < nmods; i++) {
		struct mp_module_ctx *mc = mods[i];

		err = "load failed";
		mp_log_set_prefix(mc->mod->name);
		if (mc->mod->load(mc, mc->conf, &err) == -1) {
			mp_log_set_prefix(NULL);
			snprintf(msg, sizeof(msg), "module %s: %s",
			    mc->mod->name, err);
			*error_r = msg;
			return -1;
		}
		mp_log_set_prefix(NULL);
		mc->state = 2;
		mp_log_debug("module %s loaded", mc->mod->name);
	}
	return 0;
}

void
mp_modules_close(void)
{
	while (nmods > 0) {
		struct mp_module_ctx *mc = mods[--nmods];

		if (mc->state == 2 && mc->mod->unload != NULL) {
			mp_log_set_prefix(mc->mod->name);
			mc->mod->unload(mc);
			mp_log_set_prefix(NULL);
		}
		mp_hooks_remove_owner(mc);
		registry_remove_owner(mc);
		free(mc->conf);
		dlclose(mc->dl);
		free(mc);
	}
	free(mods);
	mods = NULL;
	registry_remove_owner(NULL);
}

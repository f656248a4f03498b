/*
 * kaconf_lex.c - keepalived.conf's lexical layer: the config's arena and
 * diagnostics, and the tokenizer with `include` handling.
 *
 * As keepalived's lib/parser.c reads a file: a line is cut at the first
 * `#` or `!` outside double quotes (`\#` and `\!` keep the character), a
 * trailing `\` joins the next line, words are separated by blanks and a
 * "quoted string" is one word without its quotes.  lvsd also makes `{`
 * and `}` words of their own wherever they stand, so `real_server A P{`
 * reads as keepalived's `real_server A P {`.
 *
 * `include PATTERN` (a line of its own, anywhere, also inside blocks) is
 * expanded in place: PATTERN goes through glob(3) with brace expansion,
 * a relative one against the directory of the file that includes it
 * (keepalived changes into that directory while it reads the file); the
 * matches are read in glob's order.  A pattern matching nothing is a
 * notice, as keepalived only logs it; a file including itself, directly
 * or not, and nesting deeper than KA_MAX_INCLUDE_DEPTH are errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kaconf_int.h"

/* ---- arena ---- */

struct ka_arena {
	struct ka_arena *next;
	size_t used, size;
	max_align_t data[];
};

#define KA_ARENA_CHUNK (64 * 1024)

void *ka_alloc(struct ka_config *c, size_t n)
{
	struct ka_arena *a = c->arena;
	void *p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!a || a->size - a->used < n) {
		size_t size = n > KA_ARENA_CHUNK ? n : KA_ARENA_CHUNK;

		a = malloc(sizeof(*a) + size);
		if (!a)
			abort(); /* configuration files are small; no recovery path */
		a->used = 0;
		a->size = size;
		a->next = c->arena;
		c->arena = a;
	}
	p = (char *)a->data + a->used;
	a->used += n;
	memset(p, 0, n);
	return p;
}

void ka_config_free(struct ka_config *c)
{
	struct ka_arena *a, *next;

	if (!c)
		return;
	for (a = c->arena; a; a = next) {
		next = a->next;
		free(a);
	}
}

char *ka_strdup(struct ka_config *c, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = ka_alloc(c, n);

	memcpy(p, s, n);
	return p;
}

void ka_diag(struct ka_config *c, enum ka_level lvl, const struct ka_loc *loc, const char *fmt, ...)
{
	struct ka_diag *d = ka_alloc(c, sizeof(*d));
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d->level = lvl;
	if (loc)
		d->loc = *loc;
	d->msg = ka_strdup(c, buf);
	*c->diag_tail = d;
	c->diag_tail = &d->next;
	if (lvl == KA_ERROR)
		c->nerrors++;
	else if (lvl == KA_WARN)
		c->nwarnings++;
	else
		c->ninfos++;
}

/* ---- tokenizer ---- */

struct lex {
	struct ka_config *c;
	struct ka_toks *t;
	unsigned depth;
	struct {
		dev_t dev;
		ino_t ino;
	} stack[KA_MAX_INCLUDE_DEPTH + 1];
};

static const char *file_name(struct ka_config *c, const char *name)
{
	struct ka_file *f = ka_alloc(c, sizeof(*f));

	f->name = ka_strdup(c, name);
	f->next = c->files;
	c->files = f;
	return f->name;
}

static void push_tok(struct lex *lx, const char *s, size_t n, const struct ka_loc *loc,
		     unsigned flags)
{
	struct ka_toks *t = lx->t;
	char *p;

	if (t->n == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 256;
		struct ka_tok *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			abort();
		t->v = v;
		t->cap = cap;
	}
	p = ka_alloc(lx->c, n + 1);
	memcpy(p, s, n);
	t->v[t->n].s = p;
	t->v[t->n].loc = *loc;
	t->v[t->n].flags = flags;
	t->n++;
}

static int lex_buf(struct lex *lx, const char *buf, size_t len, const char *fname);

/* Directory part of path ("." when it has none), into out. */
static void dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, len, ".");
	else if (slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

static int lex_path(struct lex *lx, const char *path, const struct ka_loc *from)
{
	struct ka_config *c = lx->c;
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;
	int rc, fd;

	struct ka_loc self = {.file = NULL, .line = 0};

	if (!from) {
		self.file = file_name(c, path);
		from = &self;
		c->main_unreadable = true; /* until it is read */
	}
	/* non-blocking open: a FIFO or device named by a pattern must not
	 * hang the reader (it is refused below as not a regular file) */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f && fd >= 0)
		close(fd);
	if (!f || fstat(fileno(f), &st)) {
		ka_diag(c, KA_ERROR, from, "cannot read %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		ka_diag(c, KA_ERROR, from, "%s is not a regular file", path);
		fclose(f);
		return -1;
	}
	for (unsigned k = 0; k < lx->depth; k++)
		if (lx->stack[k].dev == st.st_dev && lx->stack[k].ino == st.st_ino) {
			ka_diag(c, KA_ERROR, from, "include loop: %s is already being read", path);
			fclose(f);
			return -1;
		}
	if (lx->depth >= KA_MAX_INCLUDE_DEPTH) {
		ka_diag(c, KA_ERROR, from, "includes nested deeper than %d", KA_MAX_INCLUDE_DEPTH);
		fclose(f);
		return -1;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 8192);

			if (!nb)
				abort();
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	if (from == &self)
		c->main_unreadable = false;
	lx->stack[lx->depth].dev = st.st_dev;
	lx->stack[lx->depth].ino = st.st_ino;
	lx->depth++;
	rc = lex_buf(lx, buf, len, from == &self ? self.file : file_name(c, path));
	lx->depth--;
	free(buf);
	return rc;
}

static void do_include(struct lex *lx, const char *pattern, const struct ka_loc *loc)
{
	char dir[4096], full[8192];
	glob_t g;
	int rc;

	if (lx->c->no_include) {
		ka_diag(lx->c, KA_ERROR, loc, "include '%s': no includes here", pattern);
		return;
	}
	if (pattern[0] == '/' || !strcmp(loc->file, "-")) {
		snprintf(full, sizeof(full), "%s", pattern);
	} else {
		dir_of(loc->file, dir, sizeof(dir));
		snprintf(full, sizeof(full), "%s/%s", dir, pattern);
	}
	memset(&g, 0, sizeof(g));
	rc = glob(full, GLOB_MARK | GLOB_BRACE, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		ka_diag(lx->c, KA_INFO, loc, "No config files matched '%s'.", pattern);
		globfree(&g);
		return;
	}
	if (rc) {
		ka_diag(lx->c, KA_ERROR, loc, "include '%s': cannot read the directory", pattern);
		globfree(&g);
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		size_t n = strlen(g.gl_pathv[i]);

		if (n && g.gl_pathv[i][n - 1] == '/') {
			ka_diag(lx->c, KA_WARN, loc, "include '%s': %s is a directory - skipping",
				pattern, g.gl_pathv[i]);
			continue;
		}
		lex_path(lx, g.gl_pathv[i], loc);
	}
	globfree(&g);
}

/*
 * Cut one logical line (continuations joined, comments removed) into
 * words, pushing them.  Returns how many words it pushed.
 */
static unsigned lex_line(struct lex *lx, char *line, const struct ka_loc *loc)
{
	unsigned first = lx->t->n, flags = KA_TOK_BOL;
	char *p = line;
	char word[8192];
	size_t wn = 0;
	bool inword = false;

#define FLUSH()                                                               \
	do {                                                                  \
		if (inword) {                                                 \
			push_tok(lx, word, wn, loc, flags);                   \
			flags = 0;                                            \
			wn = 0;                                               \
			inword = false;                                       \
		}                                                             \
	} while (0)
	while (*p) {
		char ch = *p;

		if (ch == '#' || ch == '!')
			break;
		if (ch == '\\' && (p[1] == '#' || p[1] == '!')) {
			if (wn < sizeof(word) - 1)
				word[wn++] = p[1];
			inword = true;
			p += 2;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v') {
			FLUSH();
			p++;
			continue;
		}
		if (ch == '{' || ch == '}') {
			FLUSH();
			push_tok(lx, p, 1, loc, flags);
			flags = 0;
			p++;
			continue;
		}
		if (ch == '"') {
			char *q = strchr(p + 1, '"');

			FLUSH();
			if (!q) {
				ka_diag(lx->c, KA_ERROR, loc, "unterminated quote: %s", p);
				q = p + strlen(p);
			}
			push_tok(lx, p + 1, (size_t)(q - p - 1), loc, flags | KA_TOK_QUOTED);
			flags = 0;
			p = *q ? q + 1 : q;
			continue;
		}
		if (wn < sizeof(word) - 1)
			word[wn++] = ch;
		inword = true;
		p++;
	}
	FLUSH();
#undef FLUSH
	return lx->t->n - first;
}

static int lex_buf(struct lex *lx, const char *buf, size_t len, const char *fname)
{
	struct ka_loc loc = {.file = fname};
	unsigned lineno = 0;
	size_t pos = 0;
	char *line = NULL;
	size_t lcap = 0;

	while (pos < len) {
		size_t ll = 0;
		unsigned start_line = lineno + 1;

		/* one logical line: join lines ending in an unescaped backslash */
		for (;;) {
			const char *nl = memchr(buf + pos, '\n', len - pos);
			size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
			bool cont;

			lineno++;
			if (ll + n + 2 > lcap) {
				lcap = (ll + n + 2) * 2;
				line = realloc(line, lcap);
				if (!line)
					abort();
			}
			memcpy(line + ll, buf + pos, n);
			ll += n;
			pos += n + (nl ? 1 : 0);
			/* NUL bytes end the line's text, as in a C string */
			line[ll] = '\0';
			ll = strlen(line);
			while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' ' ||
				      line[ll - 1] == '\t'))
				line[--ll] = '\0';
			cont = ll && line[ll - 1] == '\\' && !(ll > 1 && line[ll - 2] == '\\');
			if (cont && pos < len) {
				line[--ll] = ' ';
				ll++;
				continue;
			}
			if (cont)
				line[--ll] = '\0';
			break;
		}
		loc.line = start_line;
		{
			unsigned first = lx->t->n;
			unsigned n = lex_line(lx, line, &loc);

			if (n && !(lx->t->v[first].flags & KA_TOK_QUOTED) &&
			    !strcmp(lx->t->v[first].s, "include")) {
				struct ka_tok *tk = &lx->t->v[first];

				if (n < 2)
					ka_diag(lx->c, KA_ERROR, &loc, "include without a file name");
				else {
					char pattern[4096];

					if (n > 2)
						ka_diag(lx->c, KA_WARN, &loc,
							"include: extra words after '%s' ignored",
							tk[1].s);
					snprintf(pattern, sizeof(pattern), "%s", tk[1].s);
					lx->t->n = first;
					do_include(lx, pattern, &loc);
					continue;
				}
				lx->t->n = first;
			}
		}
	}
	free(line);
	return 0;
}

int ka_lex_file(struct ka_config *c, struct ka_toks *t, const char *path)
{
	struct lex lx = {.c = c, .t = t};

	return lex_path(&lx, path, NULL);
}

int ka_lex_mem(struct ka_config *c, struct ka_toks *t, const char *text, size_t len,
	       const char *name)
{
	struct lex lx = {.c = c, .t = t};

	return lex_buf(&lx, text, len, file_name(c, name ? name : "-"));
}

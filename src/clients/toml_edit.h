/* clients/toml_edit.h: a small, careful TOML editor for the few keys aigate owns in a client's
 * config file (Codex CLI's config.toml). It scans the whole text into items (blank or comment
 * lines, table headers, key = value lines with their full value, which may span lines), refusing
 * text that is not TOML syntax, and changes one value at a time by splicing the text: every other
 * byte (comments, order, spacing, unrelated tables) stays as it was. It does not build a data
 * model of the document; it checks syntax and a few rules (a table header twice, a key twice in a
 * table it is asked about), not every rule of the TOML specification.
 *
 * Bounded: texts up to AG_TOML_MAX_TEXT bytes, AG_TOML_MAX_ITEMS items, keys of up to
 * AG_TOML_MAX_KEY bytes and values nested up to AG_TOML_MAX_NEST arrays / inline tables. */
#ifndef AG_CLIENTS_TOML_EDIT_H
#define AG_CLIENTS_TOML_EDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define AG_TOML_MAX_TEXT  (1024u * 1024)
#define AG_TOML_MAX_ITEMS 20000u
#define AG_TOML_MAX_KEY   512u
#define AG_TOML_MAX_NEST  64u

/** What one item of the text is. */
enum ag_toml_kind {
    AG_TOML_TRIVIA,      /* a blank line or a comment line */
    AG_TOML_TABLE,       /* [a.b] */
    AG_TOML_TABLE_ARRAY, /* [[a.b]] */
    AG_TOML_KEYVAL,      /* a.b = value */
};

/**
 * One item: bytes [start, end) of the text, end just past its newline (or at the end of the
 * text). key is the dotted key of a header or key/value line, its parts joined by '.' after
 * removing quotes (a part that needs quotes to be read back keeps them, so it never equals a bare
 * name); for a key/value, [vstart, vend) is the value's text.
 */
struct ag_toml_item {
    enum ag_toml_kind kind;
    size_t start, end;
    size_t vstart, vend;
    char key[AG_TOML_MAX_KEY];
};

/** A scanned text: borrows the text, owns its item array. */
struct ag_toml_doc {
    const char *text;
    size_t len;
    struct ag_toml_item *items;
    size_t nitems;
};

/**
 * Scans text (len bytes, borrowed: it must outlive doc) into doc. Returns 0, AG_EPARSE with a
 * message naming the line in err (cap bytes) when the text is not TOML syntax or names a table
 * twice, or AG_ETOOBIG past the bounds above. On failure doc holds nothing to dispose.
 */
int ag_toml_scan(const char *text, size_t len, struct ag_toml_doc *doc, char *err, size_t cap);

/** Frees doc's items. */
void ag_toml_dispose(struct ag_toml_doc *doc);

/**
 * The index of the key/value item key in table (NULL or "" = the top level, before the first
 * header), or -1 when absent.
 */
long ag_toml_find(const struct ag_toml_doc *doc, const char *table, const char *key);

/** The index of the header item [table], or -1 when there is none. */
long ag_toml_find_table(const struct ag_toml_doc *doc, const char *table);

/**
 * Copies the value of key in table into out (cap bytes) when it is a string without escapes
 * (basic or literal, one line): true; false otherwise (absent, another type, too long).
 */
bool ag_toml_get_string(const struct ag_toml_doc *doc, const char *table, const char *key,
                        char *out, size_t cap);

/**
 * Appends s to out as a TOML basic string ("..." with \", \\ and control characters escaped).
 * Returns 0 or AG_ETOOBIG (out's cap).
 */
int ag_toml_quote(struct ag_buf *out, const char *s);

/**
 * Writes to out (reset first) the text of doc with key in table set to value, a TOML value's
 * text (e.g. from ag_toml_quote). An existing value is replaced in place (the rest of its line,
 * such as a comment, stays); a new key goes after the table's last key (table NULL or "": the
 * top level, after its last key, else at the very start); a missing table is appended at the
 * end with its header. Returns 0, or AG_ETOOBIG (out's cap). *changed tells whether the text
 * differs. doc stays valid (it does not point into out).
 */
int ag_toml_set(const struct ag_toml_doc *doc, const char *table, const char *key,
                const char *value, struct ag_buf *out, bool *changed);

/**
 * Writes to out (reset first) the text of doc without the line(s) of key in table. *changed is
 * false (and out a copy) when the key is absent. Returns 0 or AG_ETOOBIG.
 */
int ag_toml_remove(const struct ag_toml_doc *doc, const char *table, const char *key,
                   struct ag_buf *out, bool *changed);

#endif

/* clients/dotenv.h: setting variables in a .env file (KEY=value lines, as Gemini CLI reads
 * ~/.gemini/.env) while keeping every other line, comments included. Values aigate writes are
 * plain tokens (no quotes needed); a file with a quoted value running over several lines, or a
 * line that is neither blank, a comment nor KEY=value, is refused. */
#ifndef AG_CLIENTS_DOTENV_H
#define AG_CLIENTS_DOTENV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/** Largest .env file handled. */
#define AG_DOTENV_MAX_TEXT (256u * 1024)

/**
 * Checks text as a .env file. Returns 0 or AG_EPARSE with "line N: ..." in err (cap bytes), or
 * AG_ETOOBIG.
 */
int ag_dotenv_check(const char *text, size_t len, char *err, size_t cap);

/**
 * Writes to out (reset first) text with every line defining name (optionally "export name")
 * replaced by name=value, or name=value appended when there is none. *changed tells whether the
 * text differs. text must have passed ag_dotenv_check. Returns 0 or AG_ETOOBIG.
 */
int ag_dotenv_set(const char *text, size_t len, const char *name, const char *value,
                  struct ag_buf *out, bool *changed);

/**
 * Copies the value of the last line defining name into out (cap bytes), without surrounding
 * quotes: true, or false when absent or too long.
 */
bool ag_dotenv_get(const char *text, size_t len, const char *name, char *out, size_t cap);

#endif

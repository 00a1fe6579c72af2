/* core/err.c: names and texts for the AG_E* table in err.h. */
#include "core/err.h"

const char *ag_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define AG_ERR_TEXT(name, num, text)                                                               \
    case name:                                                                                     \
        return text;
        AG_ERRORS(AG_ERR_TEXT)
#undef AG_ERR_TEXT
    }
    return "unknown error";
}

const char *ag_errname(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define AG_ERR_NAME(name, num, text)                                                               \
    case name:                                                                                     \
        return #name;
        AG_ERRORS(AG_ERR_NAME)
#undef AG_ERR_NAME
    }
    return "AG_E?";
}

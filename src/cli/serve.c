/* cli/serve.c: the server command (being wired up). */
#include "cli/serve.h"

#include <stdio.h>

int ag_cli_serve(struct ag_config *cfg)
{
    (void)cfg;
    fprintf(stderr, "aigate: serve is not wired yet\n");
    return 1;
}

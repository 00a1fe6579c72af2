/* cli/cli.c: placeholder entry until the subcommands land. */
#include "cli/cli.h"

#include <stdio.h>

int ag_cli_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("aigate %s\n", AIGATE_VERSION);
    return 0;
}

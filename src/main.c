/* main.c: the aigate command. All the work is in cli/. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return ag_cli_main(argc, argv);
}

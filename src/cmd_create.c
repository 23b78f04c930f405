#include "taskrun/cli.h"

int tr_cmd_create(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        tr_warnx("create: not implemented yet");
        return TR_EXIT_ERROR;
}

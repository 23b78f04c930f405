#include "taskrun/cli.h"

int tr_cmd_update(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        tr_warnx("update: not implemented yet");
        return TR_EXIT_ERROR;
}

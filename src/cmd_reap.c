#include "taskrun/cli.h"

int tr_cmd_reap(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        tr_warnx("reap: not implemented yet");
        return TR_EXIT_ERROR;
}

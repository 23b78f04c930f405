#include "taskrun/cli.h"

int tr_cmd_wait(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        tr_warnx("wait: not implemented yet");
        return TR_EXIT_ERROR;
}

#include "taskrun/cli.h"

int tr_cmd_show(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        tr_warnx("show: not implemented yet");
        return TR_EXIT_ERROR;
}

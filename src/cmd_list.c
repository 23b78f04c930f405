#include "taskrun/cli.h"

int tr_cmd_list(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        tr_warnx("list: not implemented yet");
        return TR_EXIT_ERROR;
}

#include "taskrun/cli.h"

int tr_cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	tr_warnx("run: not implemented yet");
	return TR_EXIT_ERROR;
}

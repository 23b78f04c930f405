/* Writing to a descriptor until all is written. */
#ifndef TASKRUN_FDIO_H
#define TASKRUN_FDIO_H

#include <stddef.h>

/* write(2) all of buf, retrying on EINTR and short writes. 0, or -1 with errno. */
int tr_write_all(int fd, const void *buf, size_t len);

#endif

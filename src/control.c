/* The kill request channel between `taskrun kill` and a supervisor (see control.h). */
#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "taskrun/procinfo.h"

int tr_control_open(void)
{
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, TR_CONTROL_SIGNAL);
        if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
                return -1;
        return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

void tr_control_decode(int value, struct tr_kill_request *r)
{
        unsigned v = (unsigned)value;

        r->signal = (int)(v & 0xff);
        r->kill_after_ms = (int64_t)(v >> 8) * 100;
}

int tr_control_read(int fd, struct tr_kill_request *r)
{
        struct signalfd_siginfo si;
        ssize_t n;

        while ((n = read(fd, &si, sizeof si)) == -1 && errno == EINTR)
                ;
        if (n == -1)
                return errno == EAGAIN ? 0 : -1;
        if (n != sizeof si) {
                errno = EIO;
                return -1;
        }
        tr_control_decode(si.ssi_int, r);
        r->pid = (pid_t)si.ssi_pid;
        r->uid = (uid_t)si.ssi_uid;
        return 1;
}

/* The value travels as sig | deciseconds << 8, so it fits the int of a queued signal. */
int tr_control_send(int pidfd, int sig, int64_t kill_after_ms)
{
        siginfo_t si;
        int64_t ds = (kill_after_ms + 99) / 100;

        if (sig <= 0 || sig > 0xff || ds < 0 || kill_after_ms > TR_CONTROL_KILL_AFTER_MAX_MS) {
                errno = EINVAL;
                return -1;
        }
        memset(&si, 0, sizeof si);
        si.si_signo = TR_CONTROL_SIGNAL;
        si.si_code = SI_QUEUE;
        si.si_pid = getpid();
        si.si_uid = getuid();
        si.si_value.sival_int = (int)(sig | (int)(ds << 8));
        return tr_pidfd_send_signal(pidfd, TR_CONTROL_SIGNAL, &si);
}

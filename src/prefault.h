/*
 * The memory a run touches, mapped in advance (prefault.c): on a virtual
 * machine each page touched for the first time costs microseconds in faults.
 */
#ifndef TASKRUN_PREFAULT_H
#define TASKRUN_PREFAULT_H

/* Map the stack below the caller and the heap a run uses. Best effort: never fails. */
void tr_prefault(void);

#endif

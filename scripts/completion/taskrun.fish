# fish completion for taskrun(1).
# Installed as share/fish/vendor_completions.d/taskrun.fish.

# Run-form options that take an argument. The list must start with a short
# option: __fish_complete_subcommand reads leading --words as its own flags.
set -g __taskrun_run_args -t --task -s --subject --description --list --dir --file \
    --lock-timeout --on-fail -k --kill-after --timeout --stall-timeout --signal --orphans \
    --retry --retry-delay --retry-on --tail --heartbeat \
    --summary --log --on-exit --on-exit-timeout --ping --events --after --slots --queue --unique

# The command word (create, update, ..., rerun) if one was given.
function __taskrun_subcommand
    set -l tokens (commandline -opc)
    if set -q tokens[2]; and contains -- $tokens[2] create update show list wait reap kill logs rerun lists gc hook
        echo $tokens[2]
        return 0
    end
    return 1
end

function __taskrun_using -a cmd
    set -l sub (__taskrun_subcommand)
    test "$sub" = "$cmd"
end

# True in the run form while taskrun's own options are still being typed.
function __taskrun_run_options
    set -l tokens (commandline -opc)
    set -e tokens[1]
    if set -q tokens[1]; and contains -- $tokens[1] create update show list wait reap kill logs rerun lists gc hook
        return 1
    end
    if set -q tokens[1]; and test "$tokens[1]" = run
        set -e tokens[1]
    end
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case --
                return 1
            case '--*=*'
            case '-*'
                contains -- $t $__taskrun_run_args; and set skip 1
            case '*'
                return 1
        end
    end
    return 0
end

# True for the first word: a command word may go there.
function __taskrun_first_word
    test (count (commandline -opc)) -eq 1
end

# The wrapped command and its arguments, completed by their own completions.
function __taskrun_complete_command
    set -l tokens (commandline -opc)
    set -l skip 1
    if set -q tokens[2]; and test "$tokens[2]" = run
        set skip 2
    end
    __fish_complete_subcommand --fcs-skip=$skip $__taskrun_run_args
end

# The task list directory the typed options (or the environment) name.
function __taskrun_list_dir
    set -l tokens (commandline -opc)
    set -l dir
    set -l list
    set -l n (count $tokens)
    for i in (seq 2 $n)
        set -l next (math $i + 1)
        switch $tokens[$i]
            case --
                break
            case --dir
                test $next -le $n; and set dir $tokens[$next]
            case '--dir=*'
                set dir (string replace -- --dir= '' $tokens[$i])
            case --list
                test $next -le $n; and set list $tokens[$next]
            case '--list=*'
                set list (string replace -- --list= '' $tokens[$i])
        end
    end
    if test -n "$dir"
        string replace -r -- '^~' $HOME $dir
        return
    end
    test -n "$list"; or set list $CLAUDE_CODE_TASK_LIST_ID
    test -n "$list"; or set list $CLAUDE_CODE_SESSION_ID
    if test -z "$list"
        set -l state $XDG_STATE_HOME
        string match -q -- '/*' "$state"; or set state $HOME/.local/state
        echo $state/taskrun/tasks/default
        return
    end
    set -l config $CLAUDE_CONFIG_DIR
    test -n "$config"; or set config $HOME/.claude
    echo $config/tasks/$list
end

function __taskrun_ids
    set -l dir (__taskrun_list_dir)
    test -n "$dir"; and test -d "$dir"; or return
    for f in $dir/*.json
        string replace -r -- '^.*/(.*)\.json$' '$1' $f
    end
end

function __taskrun_lists
    set -l config $CLAUDE_CONFIG_DIR
    test -n "$config"; or set config $HOME/.claude
    for d in $config/tasks/*/
        basename $d
    end
end

function __taskrun_statuses
    printf '%s\n' pending in_progress completed
    set -l tokens (commandline -opc)
    string match -q -- '--file*' $tokens; and echo failed
end

complete -c taskrun -f

# The first word: a command word, or (as any word of the run form) the command.
complete -c taskrun -n __taskrun_first_word -a create -d 'Create a task and print its id'
complete -c taskrun -n __taskrun_first_word -a update -d 'Change fields of a task'
complete -c taskrun -n __taskrun_first_word -a show -d 'Show a task'
complete -c taskrun -n __taskrun_first_word -a list -d 'List the tasks of a list'
complete -c taskrun -n __taskrun_first_word -a wait -d 'Wait until tasks are done'
complete -c taskrun -n __taskrun_first_word -a reap -d 'Mark tasks whose process is gone as lost'
complete -c taskrun -n __taskrun_first_word -a kill -d 'End the run of tasks'
complete -c taskrun -n __taskrun_first_word -a logs -d 'Print or follow the output of a run'
complete -c taskrun -n __taskrun_first_word -a lists -d 'Show every task list and where runs went'
complete -c taskrun -n __taskrun_first_word -a gc -d 'Trim the run archive'
complete -c taskrun -n __taskrun_first_word -a hook -d 'Claude Code hook: tell the agent which runs ended'
complete -c taskrun -n __taskrun_first_word -a rerun -d "Run a task's recorded command again"
complete -c taskrun -n __taskrun_first_word -a run -d 'Run a command (as with no command word)'
complete -c taskrun -n 'not __taskrun_subcommand' -a '(__taskrun_complete_command)'

# The run form; rerun takes its options but those that name a new task.
set -l run __taskrun_run_options
set -l runlike "$run; or __taskrun_using rerun"
complete -c taskrun -n $run -s t -l task -x -a '(__taskrun_ids)' -d 'Update task ID'
complete -c taskrun -n $run -l create -d 'Create --task ID if it does not exist'
complete -c taskrun -n $run -s s -l subject -x -d 'Subject of a new task'
complete -c taskrun -n $run -l description -x -d 'Description of a new task'
complete -c taskrun -n $runlike -l on-fail -x -a 'in_progress pending' -d 'Status of a failed Claude task'
complete -c taskrun -n $runlike -l strict -d 'Task file errors make taskrun fail (125)'
complete -c taskrun -n $runlike -s k -l kill-after -x -d 'SIGKILL this long after the timeout signal'
complete -c taskrun -n $runlike -l timeout -x -d 'Stop the command after DURATION (124)'
complete -c taskrun -n $runlike -l stall-timeout -x -d 'Stop it once it has printed nothing for DURATION (124)'
complete -c taskrun -n $runlike -l signal -x -a 'TERM INT HUP QUIT KILL USR1 USR2 ALRM' -d 'Signal sent on timeout or stall'
complete -c taskrun -n $runlike -l preserve-status -d "Exit with the command's status even on timeout"
complete -c taskrun -n $runlike -l orphans -x -a 'leave wait kill' -d 'Descendants left when the command exits'
complete -c taskrun -n $runlike -s g -l group -d 'Forward signals to the process group'
complete -c taskrun -n $runlike -l retry -x -d 'Run a failed command again, up to N more times'
complete -c taskrun -n $runlike -l retry-delay -x -d 'First wait before a retry, doubled each time'
complete -c taskrun -n $runlike -l retry-on -x -d 'Retry only on these exit statuses (1,2,75)'
complete -c taskrun -n $runlike -l retry-timeouts -d 'Retry after a timeout or stall too'
complete -c taskrun -n $runlike -l pty -d 'Run the command on a pseudo-terminal'
complete -c taskrun -n $runlike -l tail -x -d 'Bytes of output kept for the task'
complete -c taskrun -n $runlike -l heartbeat -x -d 'Progress updates at most this often'
complete -c taskrun -n $runlike -s q -l quiet -d 'Show output only if the command fails'
complete -c taskrun -n $runlike -l summary -r -F -d 'Write a JSON result object to FILE'
complete -c taskrun -n $runlike -l github -d 'GitHub Actions: fold output, write step summary'
complete -c taskrun -n $runlike -l on-exit -x -a '(__fish_complete_command)' -d 'Run sh -c CMD at the end, task JSON on stdin'
complete -c taskrun -n $runlike -l on-exit-timeout -x -d 'Stop the --on-exit hook after DURATION'
complete -c taskrun -n $runlike -l events -r -F -d 'Append lifecycle events as JSON Lines'
complete -c taskrun -n $runlike -l ping -x -d 'healthchecks.io URL: ping start and end'
complete -c taskrun -n $runlike -s d -l detach -d 'Run in the background; print the task id'
complete -c taskrun -n $runlike -l log -r -F -d 'Output of a detached run'
complete -c taskrun -n $runlike -l after -x -a '(__taskrun_ids)' -d 'Start once these tasks completed'
complete -c taskrun -n $runlike -l after-done -d 'Start once the blockers ended, however'
complete -c taskrun -n $runlike -l ignore-blocked -d "Do not wait for the task's blockedBy"
complete -c taskrun -n $runlike -s V -l version -d 'Print the version'
complete -c taskrun -n $runlike -l slots -x -d 'At most N runs of the queue at once (queued: FIFO)'
complete -c taskrun -n $runlike -l queue -x -d 'The queue of --slots (default: the list)'
complete -c taskrun -n $runlike -l unique -x -d 'If a live run holds KEY: print its id, exit 122'
complete -c taskrun -n $runlike -l once -d '--unique with the directory and command as the key'
complete -c taskrun -n $runlike -l attach -d 'With --unique/--once: wait for that run, its status'

# Options every form takes.
set -l store "$run; or __taskrun_subcommand"
complete -c taskrun -n $store -s h -l help -d 'Show help'
complete -c taskrun -n $store -l list -x -a '(__taskrun_lists)' -d 'Task list'
complete -c taskrun -n $store -l dir -x -a '(__fish_complete_directories)' -d 'Task list directory'
complete -c taskrun -n $store -l file -r -F -d 'A plain JSON task file'
complete -c taskrun -n $store -l follow-symlinks -d 'Allow a symlinked task file or list directory'
complete -c taskrun -n $store -l lock-timeout -x -d 'Give up waiting for a lock after DURATION'

# create
complete -c taskrun -n '__taskrun_using create' -s s -l subject -x -d Subject
complete -c taskrun -n '__taskrun_using create' -l description -x -d Description
complete -c taskrun -n '__taskrun_using create' -l active-form -x -d 'activeForm, shown while in progress'
complete -c taskrun -n '__taskrun_using create' -l blocked-by -x -a '(__taskrun_ids)' -d 'A task that blocks this one'
complete -c taskrun -n '__taskrun_using create' -l id -x -d 'This id instead of the next free one'
complete -c taskrun -n '__taskrun_using create' -l set-meta -x -d 'Set metadata.KEY to a JSON value'

# update
complete -c taskrun -n '__taskrun_using update' -a '(__taskrun_ids)'
complete -c taskrun -n '__taskrun_using update' -l status -x -a '(__taskrun_statuses)' -d Status
complete -c taskrun -n '__taskrun_using update' -s s -l subject -x -d Subject
complete -c taskrun -n '__taskrun_using update' -l description -x -d 'Description (replaced whole)'
complete -c taskrun -n '__taskrun_using update' -l active-form -x -d activeForm
complete -c taskrun -n '__taskrun_using update' -l owner -x -d Owner
complete -c taskrun -n '__taskrun_using update' -l set-meta -x -d 'Set metadata.KEY to a JSON value'
complete -c taskrun -n '__taskrun_using update' -l unset-meta -x -d 'Delete metadata.KEY'

# show
complete -c taskrun -n '__taskrun_using show' -a '(__taskrun_ids)'
complete -c taskrun -n '__taskrun_using show' -l json -d 'The task JSON as stored'

# list
complete -c taskrun -n '__taskrun_using list' -l json -d 'A JSON array of the tasks'
complete -c taskrun -n '__taskrun_using list' -l status -x -a '(__taskrun_statuses)' -d 'Only tasks with this status'
complete -c taskrun -n '__taskrun_using list' -l state -x -a 'running stopped completed failed timed_out killed lost waiting queued skipped' -d 'Only tasks whose last run is in this state'

# wait
complete -c taskrun -n '__taskrun_using wait' -a '(__taskrun_ids)'
complete -c taskrun -n '__taskrun_using wait' -l timeout -x -d 'Give up after DURATION'
complete -c taskrun -n '__taskrun_using wait' -l any -d 'Return when the first task is done'
complete -c taskrun -n '__taskrun_using wait' -l wait-missing -d 'Wait for a task that does not exist'
complete -c taskrun -n '__taskrun_using wait' -l json -d 'One JSON object per task'
complete -c taskrun -n '__taskrun_using wait' -s q -l quiet -d 'Print nothing on stdout'

# reap
complete -c taskrun -n '__taskrun_using reap' -s n -l dry-run -d 'Print what would be done; change nothing'

# kill
complete -c taskrun -n '__taskrun_using kill' -a '(__taskrun_ids)'
complete -c taskrun -n '__taskrun_using kill' -s s -l signal -x -a 'TERM INT HUP QUIT KILL USR1 USR2 ALRM' -d 'Signal to send'
complete -c taskrun -n '__taskrun_using kill' -s k -l kill-after -x -d 'Then SIGKILL this long after'

# logs
complete -c taskrun -n '__taskrun_using logs' -a '(__taskrun_ids)'
complete -c taskrun -n '__taskrun_using logs' -s f -l follow -d 'Follow the output until the run ends'
complete -c taskrun -n '__taskrun_using logs' -s n -l lines -x -d 'Only the last LINES lines'

# lists
complete -c taskrun -n '__taskrun_using lists' -l json -d 'A JSON array of the lists'

# gc
complete -c taskrun -n '__taskrun_using gc' -l keep -x -d 'Keep the newest N runs per list'
complete -c taskrun -n '__taskrun_using gc' -l older-than -x -d 'Also remove runs archived longer ago'
complete -c taskrun -n '__taskrun_using gc' -s n -l dry-run -d 'Say what would be removed'
complete -c taskrun -n '__taskrun_using gc' -s q -l quiet -d 'Print nothing'

# hook
complete -c taskrun -n '__taskrun_using hook' -l all -d 'Tell every run, not only detached ones'
# rerun
complete -c taskrun -n '__taskrun_using rerun' -a '(__taskrun_ids)'

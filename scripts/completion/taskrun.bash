# bash completion for taskrun(1).                             -*- shell-script -*-
#
# Installed as share/bash-completion/completions/taskrun; or source it.
# Needs nothing from the bash-completion package, but hands the wrapped
# command's arguments to its own completion when that package is there.

_taskrun_store_opts='--list --dir --file --follow-symlinks --lock-timeout --help'
# rerun takes the run options but those that name a new task.
_taskrun_rerun_opts="--on-fail --strict
	--timeout --stall-timeout --kill-after --signal --preserve-status --orphans
	--group --retry --retry-delay --retry-on --retry-timeouts --pty
	--tail --heartbeat --quiet --summary --github --on-exit --on-exit-timeout
	--ping --events --detach --log --after --after-done --ignore-blocked --slots
	--queue --unique --once --attach --version $_taskrun_store_opts"
_taskrun_run_opts="--task --create --subject --description $_taskrun_rerun_opts"
_taskrun_commands='create update show list wait reap kill logs rerun lists gc hook run'

# Options that take an argument (the next word, or after "=").
_taskrun_takes_arg()
{
	case $1 in
	-t | --task | -s | --subject | --description | --list | --dir | --file | \
		--lock-timeout | --on-fail | -k | --kill-after | --timeout | \
		--stall-timeout | --retry | --retry-delay | --retry-on | \
		--signal | --orphans | --tail | --heartbeat | --summary | --log | \
		--on-exit | --on-exit-timeout | --ping | --events | \
		--active-form | --blocked-by | --id | --set-meta | --status | \
		--owner | --unset-meta | -n | --lines | --after | --state | --keep | \
		--older-than | --slots | --queue | --unique)
		return 0
		;;
	esac
	return 1
}

# The long options of one command.
_taskrun_opts_of()
{
	case $1 in
	create) echo "--subject --description --active-form --blocked-by --id" \
		"--set-meta $_taskrun_store_opts" ;;
	update) echo "--status --subject --description --active-form --owner" \
		"--set-meta --unset-meta $_taskrun_store_opts" ;;
	show) echo "--json $_taskrun_store_opts" ;;
	list) echo "--json --status --state $_taskrun_store_opts" ;;
	wait) echo "--timeout --any --wait-missing --json --quiet $_taskrun_store_opts" ;;
	reap) echo "--dry-run $_taskrun_store_opts" ;;
	kill) echo "--signal --kill-after $_taskrun_store_opts" ;;
	logs) echo "--follow --lines $_taskrun_store_opts" ;;
	lists) echo "--json $_taskrun_store_opts" ;;
	gc) echo "--keep --older-than --dry-run --quiet $_taskrun_store_opts" ;;
	hook) echo "--all $_taskrun_store_opts" ;;
	rerun) echo "$_taskrun_rerun_opts" ;;
	*) echo "$_taskrun_run_opts" ;;
	esac
}

# The value of option $1 among the words typed so far (the last one wins).
_taskrun_word_value()
{
	local i w value=
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		[[ $w == -- ]] && break
		if [[ $w == "$1" ]]; then
			if [[ ${COMP_WORDS[i + 1]-} == = ]]; then
				value=${COMP_WORDS[i + 2]-}
			else
				value=${COMP_WORDS[i + 1]-}
			fi
		elif [[ $w == "$1"=* ]]; then
			value=${w#"$1"=}
		fi
	done
	printf '%s' "$value"
}

# The task list directory the typed options (or the environment) name.
_taskrun_list_dir()
{
	local dir list config
	dir=$(_taskrun_word_value --dir)
	if [[ -n $dir ]]; then
		[[ $dir == "~"/* ]] && dir=$HOME/${dir#"~"/}
		printf '%s' "$dir"
		return
	fi
	list=$(_taskrun_word_value --list)
	[[ -z $list ]] && list=${CLAUDE_CODE_TASK_LIST_ID-}
	[[ -z $list ]] && list=${CLAUDE_CODE_SESSION_ID-}
	if [[ -z $list ]]; then
		config=${XDG_STATE_HOME:-$HOME/.local/state}
		[[ $config == /* ]] || config=$HOME/.local/state
		printf '%s' "$config/taskrun/tasks/default"
		return
	fi
	config=${CLAUDE_CONFIG_DIR:-$HOME/.claude}
	printf '%s' "$config/tasks/$list"
}

# Task ids: the *.json files of the list directory.
_taskrun_ids()
{
	local dir f ids=()
	dir=$(_taskrun_list_dir)
	[[ -d $dir ]] || return
	for f in "$dir"/*.json; do
		[[ -f $f ]] || continue
		f=${f##*/}
		ids+=("${f%.json}")
	done
	mapfile -t COMPREPLY < <(compgen -W "${ids[*]}" -- "$1")
}

# Task list names under the config directory.
_taskrun_lists()
{
	local d names=()
	for d in "${CLAUDE_CONFIG_DIR:-$HOME/.claude}"/tasks/*/; do
		[[ -d $d ]] || continue
		d=${d%/}
		names+=("${d##*/}")
	done
	mapfile -t COMPREPLY < <(compgen -W "${names[*]}" -- "$1")
}

_taskrun_files()
{
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$1")
}

# Complete the argument of option $1; the current word is $2.
_taskrun_option_arg()
{
	local cur=$2
	case $1 in
	-t | --task | --blocked-by) _taskrun_ids "$cur" ;;
	--list) _taskrun_lists "$cur" ;;
	--dir)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		;;
	--file | --summary | --log | --events) _taskrun_files "$cur" ;;
	--on-fail) mapfile -t COMPREPLY < <(compgen -W 'in_progress pending' -- "$cur") ;;
	--orphans) mapfile -t COMPREPLY < <(compgen -W 'leave wait kill' -- "$cur") ;;
	--status)
		local statuses='pending in_progress completed'
		[[ -n $(_taskrun_word_value --file) ]] && statuses+=' failed'
		mapfile -t COMPREPLY < <(compgen -W "$statuses" -- "$cur")
		;;
	--state)
		mapfile -t COMPREPLY < <(compgen -W 'running stopped completed failed timed_out
			killed lost waiting queued skipped' -- "$cur")
		;;
	--signal)
		local sigs
		sigs=$(compgen -A signal | sed -n 's/^SIG//p')
		mapfile -t COMPREPLY < <(compgen -W "$sigs" -- "${cur#SIG}")
		;;
	*) COMPREPLY=() ;; # a duration, size, text or KEY=JSON
	esac
}

# Complete the wrapped command: its name, then its own arguments.
_taskrun_command()
{
	local start=$1 cur=$2
	if ((COMP_CWORD > start)) && declare -F _command_offset >/dev/null; then
		_command_offset "$start"
	elif ((COMP_CWORD == start)); then
		mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
	else
		_taskrun_files "$cur"
	fi
}

_taskrun()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd='' i w skip=0

	# "--opt=" splits into "--opt" "=" "value" with the default COMP_WORDBREAKS.
	if [[ $cur == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		cur=${cur#*=}
	fi
	COMPREPLY=()

	# Find the command word, or where the wrapped command starts.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((skip)); then
			skip=0
			[[ $w == = ]] && skip=1
			continue
		fi
		case $w in
		--)
			[[ -z $cmd || $cmd == run ]] && {
				_taskrun_command $((i + 1)) "$cur"
				return
			}
			;;
		=) ;;
		-*)
			[[ $w != *=* ]] && _taskrun_takes_arg "$w" && skip=1
			;;
		*)
			if [[ -z $cmd && $i == 1 && " $_taskrun_commands " == *" $w "* ]]; then
				cmd=$w
			elif [[ -z $cmd || $cmd == run ]]; then
				_taskrun_command "$i" "$cur"
				return
			fi
			;;
		esac
	done

	if _taskrun_takes_arg "$prev" && [[ $prev == -* ]]; then
		_taskrun_option_arg "$prev" "$cur"
		return
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_taskrun_opts_of "$cmd")" -- "$cur")
		return
	fi
	case $cmd in
	'')
		if ((COMP_CWORD == 1)); then
			mapfile -t COMPREPLY < <(compgen -W "$_taskrun_commands" -- "$cur")
		else
			_taskrun_command "$COMP_CWORD" "$cur"
		fi
		;;
	run) _taskrun_command "$COMP_CWORD" "$cur" ;;
	show | update | wait | kill | logs | rerun) _taskrun_ids "$cur" ;;
	esac
}

complete -F _taskrun taskrun

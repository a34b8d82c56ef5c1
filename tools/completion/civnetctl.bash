# Bash completion for civnetctl and civnetd: commands, subcommands and
# options, read from their own --help (so it never falls behind them),
# and directories or files after the options that take one.
#
#   source tools/completion/civnetctl.bash      # this shell
#   install -m 644 tools/completion/civnetctl.bash \
#       /usr/share/bash-completion/completions/civnetctl   # and civnetd: a symlink

_civnet_complete() {
  local prog=$1 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
    --data-dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
    --socket|--out|--body-file|--config|--network|import) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
  esac
  # The command words typed so far, without options and their values.
  local words=() i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      --data-dir|--socket|--config) ((i++)) ;;
      -*) ;;
      *) words+=("$w") ;;
    esac
  done
  local help
  help=$("$prog" "${words[@]}" --help 2>/dev/null) || return
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(grep -oE -- '--[a-z][a-z-]*' <<<"$help" | sort -u)" -- "$cur")
  else
    local subs
    subs=$(awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' <<<"$help")
    mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
  fi
}
_civnetctl() { _civnet_complete civnetctl; }
_civnetd() { _civnet_complete civnetd; }
complete -F _civnetctl civnetctl
complete -F _civnetd civnetd

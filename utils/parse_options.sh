# Sourced by Kaldi-style scripts after their configuration section:
#
#   # Begin configuration section.
#   nj=4            # number of parallel jobs
#   cmd=utils/run.pl
#   # End configuration section.
#   . utils/parse_options.sh
#
# Semantics of Kaldi's utils/parse_options.sh:
#   --foo-bar VALUE   sets the shell variable foo_bar, which must already be defined
#                     (an undefined one is an error: "invalid option"); a variable whose
#                     default is true/false only accepts true or false.
#   --config FILE     sources FILE (lines var=value) before the other options are applied,
#                     wherever it appears, so options on the command line win.
#   --help, -h        prints $help_message and the options of the configuration section
#                     (with their defaults and comments), then exits 0.
# Parsing stops at the first argument that does not start with "--"; the options are
# shifted off the caller's positional parameters.

# --config first (anywhere among the options), so that explicit options override it.
__po_args=("$@")
__po_i=0
while [ $__po_i -lt ${#__po_args[@]} ]; do
  case "${__po_args[$__po_i]}" in
    --config)
      __po_cfg="${__po_args[$((__po_i + 1))]:-}"
      if [ -z "$__po_cfg" ] || [ ! -r "$__po_cfg" ]; then
        echo "$0: cannot read config file '${__po_cfg}' given by --config" >&2
        exit 1
      fi
      . "$__po_cfg" || { echo "$0: error sourcing config file $__po_cfg" >&2; exit 1; }
      __po_i=$((__po_i + 2));;
    --*) __po_i=$((__po_i + 2));;
    *) break;;
  esac
done
unset __po_args __po_i __po_cfg

while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message"; else echo "Usage: $0 [options] <args>"; fi
      # List the options: the configuration section of the calling script.
      if [ -r "$0" ]; then
        __po_opts=$(awk '
          /^# *Begin configuration/ { inside = 1; found = 1; next }
          /^# *End configuration/ { inside = 0; next }
          /parse_options\.sh/ { if (!found) exit }
          (inside || !found) && /^[A-Za-z_][A-Za-z0-9_]*=/ {
            name = $0; sub(/=.*/, "", name)
            if (name == "help_message") next
            rest = substr($0, length(name) + 2)
            comment = ""
            if (match(rest, /[ \t]+#/)) { comment = substr(rest, RSTART); sub(/^[ \t]+#[ \t]*/, "", comment); rest = substr(rest, 1, RSTART - 1) }
            gsub(/_/, "-", name)
            printf("  --%-24s # default: %s%s\n", name " <value>", rest, comment == "" ? "" : "; " comment)
          }' "$0")
        if [ -n "$__po_opts" ]; then echo "Options:"; printf '%s\n' "$__po_opts"; fi
        unset __po_opts
      fi
      echo "  --config <file>              # file of var=value lines, read before the other options"
      exit 0;;
    --config)
      shift 2 || { echo "$0: --config needs a file" >&2; exit 1; };;
    --*=*)
      echo "$0: options must be given as '--name value', not '$1'" >&2
      exit 1;;
    --?*)
      __po_name="${1#--}"
      __po_name="${__po_name//-/_}"
      if ! [[ "$__po_name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -z "${!__po_name+set}" ]; then
        echo "$0: invalid option $1" >&2
        exit 1
      fi
      if [ $# -lt 2 ]; then
        echo "$0: option $1 needs a value" >&2
        exit 1
      fi
      __po_old="${!__po_name}"
      if [ "$__po_old" = true ] || [ "$__po_old" = false ]; then
        if [ "$2" != true ] && [ "$2" != false ]; then
          echo "$0: expected \"true\" or \"false\" for $1, got \"$2\"" >&2
          exit 1
        fi
      fi
      printf -v "$__po_name" '%s' "$2"
      unset __po_name __po_old
      shift 2;;
    *) break;;
  esac
done
true  # the sourcing script continues under set -e
